import { IANAZone } from 'luxon';

/** True for IANA zone names the runtime knows ("Europe/Paris"); offsets like "+02:00" are refused. */
export function isIanaZone(zone: string): boolean {
  return zone.includes('/') || zone === 'UTC' ? IANAZone.isValidZone(zone) : false;
}
