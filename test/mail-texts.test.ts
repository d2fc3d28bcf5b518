import t from 'tap';
import { formatRange, renderMailText, type MailFacts } from '../src/mail/index.ts';

// What a mail says, without a server: language, zone (DST included), escaping.
const base: MailFacts = {
  kind: 'invitation',
  locale: 'en',
  timeZone: 'Europe/Paris',
  recipientName: 'Julien',
  sessionKind: 'mentoring',
  title: 'Build a REST API',
  withNames: ['Camille'],
  startsAt: new Date('2027-03-29T07:00:00Z'),
  endsAt: new Date('2027-03-29T07:45:00Z'),
  joinUrl: 'https://school.example/#/sessions/1',
  unsubscribeUrl: 'https://school.example/unsubscribe/tok',
  preferencesUrl: 'https://school.example/#/preferences',
};

t.test('times follow the recipient zone across a DST change', async (t) => {
  // Paris moves to summer time on 28 March 2027: 07:00 UTC is 08:00 before, 09:00 after.
  t.equal(formatRange(new Date('2027-03-26T07:00:00Z'), new Date('2027-03-26T07:45:00Z'), 'Europe/Paris', 'fr'), 'vendredi 26 mars 2027, 08:00 – 08:45 (heure normale d’Europe centrale)');
  t.equal(formatRange(base.startsAt, base.endsAt, 'Europe/Paris', 'fr'), 'lundi 29 mars 2027, 09:00 – 09:45 (heure d’été d’Europe centrale)');
  t.equal(formatRange(base.startsAt, base.endsAt, 'America/New_York', 'es'), 'lunes, 29 de marzo de 2027, 03:00 – 03:45 (hora de verano oriental)');
});

t.test('each kind in each language', async (t) => {
  const en = renderMailText(base);
  t.match(en.subject, /^Invitation: Mentoring session, /);
  t.match(en.text, /Join: https:\/\/school\.example\/#\/sessions\/1/);
  const fr = renderMailText({ ...base, locale: 'fr', kind: 'update', previousStartsAt: new Date('2027-03-28T07:00:00Z') });
  t.match(fr.subject, /^Modifié : Session de mentorat/);
  t.match(fr.text, /Auparavant: /);
  const es = renderMailText({ ...base, locale: 'es', kind: 'cancellation', sessionKind: 'defence' });
  t.match(es.subject, /^Cancelado: Defensa del diploma/);
  t.notMatch(es.text, /Unirse/, 'no join link in a cancellation');
  const reminder = renderMailText({ ...base, kind: 'reminder', minutesBefore: 15 });
  t.match(reminder.text, /It starts in 15 minutes\./);
});

t.test('names are escaped in the HTML part', async (t) => {
  const html = renderMailText({ ...base, recipientName: '<script>x</script>', title: 'A & B' }).html;
  t.notMatch(html, /<script>/);
  t.match(html, /A &#38; B/);
});
