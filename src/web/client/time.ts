import { locale } from './i18n.ts';

/** Dates in the viewer's own IANA zone and language (stored and sent in UTC). */
export function formatDateTime(iso: string | Date, timeZone: string): string {
  return new Intl.DateTimeFormat(locale(), { dateStyle: 'full', timeStyle: 'short', timeZone }).format(new Date(iso));
}

export function formatTime(iso: string | Date, timeZone: string): string {
  return new Intl.DateTimeFormat(locale(), { hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(iso));
}

/** A zone name with its current UTC offset, e.g. "Europe/Paris (UTC+1)". */
export function describeZone(timeZone: string): string {
  const part = new Intl.DateTimeFormat('en', { timeZone, timeZoneName: 'shortOffset' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName');
  return `${timeZone}${part ? ` (${part.value.replace('GMT', 'UTC')})` : ''}`;
}
