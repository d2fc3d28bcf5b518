import { IANAZone } from 'luxon';

/**
 * Time-zone names as the IANA database spells them. The runtime accepts any
 * case ("europe/paris" works with Intl and luxon), so a name stored as typed
 * would differ from the one the next person types for the same zone. And Intl's
 * own canonical name is no help: it maps links to ICU's older primaries
 * ("Asia/Kolkata" → "Asia/Calcutta", "America/Montreal" → "America/Toronto"),
 * which is not what the person chose.
 *
 * So a name is either given its IANA spelling, when the runtime lists the zone
 * (Intl.supportedValuesOf, plus UTC and the Etc zones it leaves out), or it must
 * already be written the IANA way (a link the runtime knows but does not list,
 * e.g. "Asia/Kolkata", "Europe/Kyiv": every word capitalized), or it is refused.
 * Offsets ("+02:00") and legacy names without a region ("EST5EDT", "GMT") are
 * refused as before; "UTC" in any case is "UTC".
 */
const listed = new Map<string, string>();
for (const zone of [
  ...Intl.supportedValuesOf('timeZone'),
  'UTC',
  'Etc/UTC',
  'Etc/GMT',
  ...Array.from({ length: 12 }, (_, i) => `Etc/GMT+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `Etc/GMT-${i + 1}`),
]) {
  listed.set(zone.toLowerCase(), zone);
}

/** "Region/City_Name", "America/Argentina/Buenos_Aires", "America/Port-au-Prince"-like words, each capitalized. */
const IANA_SPELLING = /^[A-Z][a-z]+(?:\/[A-Z][a-z]*(?:[_-][A-Za-z][a-z]*)*)+$/;

/** The IANA spelling of a zone the runtime knows ("europe/paris" → "Europe/Paris", "utc" → "UTC"), else undefined. */
export function canonicalZone(zone: string): string | undefined {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > 64) return undefined;
  if (!IANAZone.isValidZone(zone)) return undefined;
  const known = listed.get(zone.toLowerCase());
  if (known !== undefined) return known;
  return IANA_SPELLING.test(zone) ? zone : undefined;
}

/** True for IANA zone names the runtime knows, in any case ("Europe/Paris", "utc"); offsets like "+02:00" are refused. */
export function isIanaZone(zone: string): boolean {
  return canonicalZone(zone) !== undefined;
}
