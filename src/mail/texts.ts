import { DateTime } from 'luxon';
import type { Locale } from '../auth/index.ts';

/**
 * What a mail says, in the recipient's language and time zone. Pure: the
 * same inputs always give the same text (tested without a server).
 */
export type MailKind = 'invitation' | 'update' | 'cancellation' | 'reminder';

export interface MailFacts {
  kind: MailKind;
  locale: Locale;
  timeZone: string;
  recipientName: string;
  sessionKind: 'mentoring' | 'defence';
  /** The project (mentoring) or the path (defence). */
  title: string;
  /** The other people of the session, by name. */
  withNames: string[];
  startsAt: Date;
  endsAt: Date;
  /** Previous start, for an update. */
  previousStartsAt?: Date;
  joinUrl: string;
  unsubscribeUrl: string;
  preferencesUrl: string;
  /** Minutes before the start, for a reminder. */
  minutesBefore?: number;
}

interface Strings {
  what: Record<'mentoring' | 'defence', string>;
  subject: Record<MailKind, (what: string, when: string) => string>;
  lead: Record<MailKind, (what: string) => string>;
  greeting: (name: string) => string;
  when: string;
  with: string;
  was: string;
  join: string;
  inMinutes: (minutes: number) => string;
  footer: string;
  unsubscribe: string;
  preferences: string;
}

const STRINGS: Record<Locale, Strings> = {
  en: {
    what: { mentoring: 'Mentoring session', defence: 'Diploma defence' },
    subject: {
      invitation: (what, when) => `Invitation: ${what}, ${when}`,
      update: (what, when) => `Updated: ${what}, now ${when}`,
      cancellation: (what, when) => `Cancelled: ${what}, ${when}`,
      reminder: (what, when) => `Reminder: ${what}, ${when}`,
    },
    lead: {
      invitation: (what) => `You are invited to a ${what.toLowerCase()}.`,
      update: (what) => `Your ${what.toLowerCase()} has moved.`,
      cancellation: (what) => `Your ${what.toLowerCase()} is cancelled.`,
      reminder: (what) => `Your ${what.toLowerCase()} is coming up.`,
    },
    greeting: (name) => `Hello ${name},`,
    when: 'When',
    with: 'With',
    was: 'Previously',
    join: 'Join',
    inMinutes: (m) => `It starts in ${m} minutes.`,
    footer: 'The attached invitation updates your calendar.',
    unsubscribe: 'Stop reminder e-mails',
    preferences: 'Notification preferences',
  },
  fr: {
    what: { mentoring: 'Session de mentorat', defence: 'Soutenance de diplôme' },
    subject: {
      invitation: (what, when) => `Invitation : ${what}, ${when}`,
      update: (what, when) => `Modifié : ${what}, désormais ${when}`,
      cancellation: (what, when) => `Annulé : ${what}, ${when}`,
      reminder: (what, when) => `Rappel : ${what}, ${when}`,
    },
    lead: {
      invitation: (what) => `Vous êtes invité(e) : ${what.toLowerCase()}.`,
      update: (what) => `Votre ${what.toLowerCase()} a été déplacée.`,
      cancellation: (what) => `Votre ${what.toLowerCase()} est annulée.`,
      reminder: (what) => `Votre ${what.toLowerCase()} approche.`,
    },
    greeting: (name) => `Bonjour ${name},`,
    when: 'Quand',
    with: 'Avec',
    was: 'Auparavant',
    join: 'Rejoindre',
    inMinutes: (m) => `Elle commence dans ${m} minutes.`,
    footer: "L'invitation jointe met votre agenda à jour.",
    unsubscribe: 'Ne plus recevoir les rappels par e-mail',
    preferences: 'Préférences de notification',
  },
  es: {
    what: { mentoring: 'Sesión de mentoría', defence: 'Defensa del diploma' },
    subject: {
      invitation: (what, when) => `Invitación: ${what}, ${when}`,
      update: (what, when) => `Actualizado: ${what}, ahora ${when}`,
      cancellation: (what, when) => `Cancelado: ${what}, ${when}`,
      reminder: (what, when) => `Recordatorio: ${what}, ${when}`,
    },
    lead: {
      invitation: (what) => `Tiene una invitación: ${what.toLowerCase()}.`,
      update: (what) => `Su ${what.toLowerCase()} ha cambiado de hora.`,
      cancellation: (what) => `Su ${what.toLowerCase()} está cancelada.`,
      reminder: (what) => `Su ${what.toLowerCase()} se acerca.`,
    },
    greeting: (name) => `Hola ${name}:`,
    when: 'Cuándo',
    with: 'Con',
    was: 'Antes',
    join: 'Unirse',
    inMinutes: (m) => `Empieza en ${m} minutos.`,
    footer: 'La invitación adjunta actualiza su calendario.',
    unsubscribe: 'No recibir más recordatorios por correo',
    preferences: 'Preferencias de notificación',
  },
};

/** "lundi 4 janvier 2027, 10:00 – 10:45 (heure normale d’Europe centrale)": the recipient's zone and language. */
export function formatRange(startsAt: Date, endsAt: Date, zone: string, locale: Locale): string {
  const start = DateTime.fromJSDate(startsAt, { zone }).setLocale(locale);
  const end = DateTime.fromJSDate(endsAt, { zone }).setLocale(locale);
  const day = start.toLocaleString({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const time = (d: DateTime) => d.toLocaleString({ hour: '2-digit', minute: '2-digit', hourCycle: locale === 'en' ? 'h12' : 'h23' });
  return `${day}, ${time(start)} – ${time(end)} (${start.toFormat('ZZZZZ')})`;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export interface MailText {
  subject: string;
  text: string;
  html: string;
}

export function renderMailText(f: MailFacts): MailText {
  const s = STRINGS[f.locale];
  const what = s.what[f.sessionKind];
  const when = formatRange(f.startsAt, f.endsAt, f.timeZone, f.locale);
  const shortWhen = DateTime.fromJSDate(f.startsAt, { zone: f.timeZone }).setLocale(f.locale).toLocaleString(DateTime.DATETIME_MED);
  const lines: Array<[string, string]> = [[s.when, when]];
  if (f.kind === 'update' && f.previousStartsAt) {
    const was = DateTime.fromJSDate(f.previousStartsAt, { zone: f.timeZone }).setLocale(f.locale).toLocaleString(DateTime.DATETIME_MED);
    lines.push([s.was, was]);
  }
  if (f.withNames.length > 0) lines.push([s.with, f.withNames.join(', ')]);
  const lead = `${s.lead[f.kind](what)}${f.kind === 'reminder' && f.minutesBefore !== undefined ? ` ${s.inMinutes(f.minutesBefore)}` : ''}`;
  const showJoin = f.kind !== 'cancellation';

  const text = [
    s.greeting(f.recipientName),
    '',
    lead,
    '',
    `${what}: ${f.title}`,
    ...lines.map(([k, v]) => `${k}: ${v}`),
    ...(showJoin ? [`${s.join}: ${f.joinUrl}`] : []),
    '',
    f.kind === 'reminder' ? '' : s.footer,
    `${s.unsubscribe}: ${f.unsubscribeUrl}`,
    `${s.preferences}: ${f.preferencesUrl}`,
  ].join('\n');

  const html = `<!doctype html><html lang="${f.locale}"><body style="font-family:sans-serif">
<p>${escapeHtml(s.greeting(f.recipientName))}</p>
<p>${escapeHtml(lead)}</p>
<p><strong>${escapeHtml(what)}: ${escapeHtml(f.title)}</strong></p>
<table>${lines.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('')}</table>
${showJoin ? `<p><a href="${escapeHtml(f.joinUrl)}">${escapeHtml(s.join)}</a></p>` : ''}
${f.kind === 'reminder' ? '' : `<p>${escapeHtml(s.footer)}</p>`}
<p style="font-size:small"><a href="${escapeHtml(f.unsubscribeUrl)}">${escapeHtml(s.unsubscribe)}</a> · <a href="${escapeHtml(f.preferencesUrl)}">${escapeHtml(s.preferences)}</a></p>
</body></html>`;

  return { subject: s.subject[f.kind](what, shortWhen), text, html };
}
