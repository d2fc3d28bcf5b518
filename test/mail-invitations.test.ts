import t from 'tap';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import ICAL from 'ical.js';
import type { Teardown } from './helpers/db.ts';
import { api, startTestApp } from './helpers/app.ts';

// Invitations by e-mail (iTIP): a real SMTP server receives what the server
// sends; every message is parsed back (mailparser) and its calendar part read
// with ical.js, as a calendar client would.

interface Inbox {
  url: string;
  mails: ParsedMail[];
  /** Mails arrived so far, waiting until `count` have. */
  waitFor(count: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Refuse every RCPT TO with a temporary failure while true. */
  refusing: boolean;
  refusals: number;
}

async function startInbox(t: Teardown): Promise<Inbox> {
  const inbox: Inbox = {
    url: '',
    mails: [],
    refusing: false,
    refusals: 0,
    async waitFor(count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (inbox.mails.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} mails, got ${inbox.mails.length}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return inbox.mails;
    },
  };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onRcptTo(_address, _session, callback) {
      if (inbox.refusing) {
        inbox.refusals++;
        const err = Object.assign(new Error('Mailbox busy, try later'), { responseCode: 451 });
        return callback(err);
      }
      callback();
    },
    onData(stream, _session, callback) {
      simpleParser(stream).then(
        (mail) => {
          inbox.mails.push(mail);
          callback();
        },
        (err) => callback(err as Error),
      );
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  inbox.url = `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return inbox;
}

const calendarOf = (mail: ParsedMail) => {
  const part = mail.attachments.find((a) => a.contentType.startsWith('text/calendar'));
  if (!part) throw new Error(`no calendar part in "${mail.subject}"`);
  const comp = new ICAL.Component(ICAL.parse(part.content.toString('utf8')));
  const event = comp.getFirstSubcomponent('vevent')!;
  return {
    method: comp.getFirstPropertyValue('method'),
    uid: event.getFirstPropertyValue('uid'),
    sequence: Number(event.getFirstPropertyValue('sequence')),
    status: event.getFirstPropertyValue('status'),
    start: (event.getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().toISOString(),
    organizer: String(event.getFirstPropertyValue('organizer')),
    attendees: event.getAllProperties('attendee').map((p) => String(p.getFirstValue())),
  };
};
/** A header as it was sent (mailparser restructures List-* headers). */
const header = (mail: ParsedMail, name: string) => {
  const line = mail.headerLines.find((h) => h.key === name.toLowerCase())?.line ?? '';
  return line.slice(line.indexOf(':') + 1).trim();
};
const to = (mail: ParsedMail) => (Array.isArray(mail.to) ? mail.to[0] : mail.to)!.value[0]!.address!;

async function bookableMentor(url: string, token: string, mentorId: string) {
  const put = await api(url, 'PUT', `/hosts/${mentorId}/availability`, token, {
    timeZone: 'Europe/Paris',
    bufferMinutes: 0,
    weekly: [1, 2, 3, 4, 5].map((weekday) => ({ weekday, start: '09:00', end: '18:00' })),
  });
  if (put.status !== 200) throw new Error(`availability: ${put.status}`);
}

t.test('booking, reschedule and cancel reach each participant as REQUEST, REQUEST (higher SEQUENCE) and CANCEL, in their language and zone', async (t) => {
  const inbox = await startInbox(t);
  const now = Date.parse('2027-01-04T06:00:00Z');
  const { url, demo, login } = await startTestApp(t, {
    clock: { now: () => new Date(now) },
    env: { SMTP_URL: inbox.url, MAIL_RETRY_DELAY_MS: '100' },
  });
  const [student, mentor] = await Promise.all([login(demo.student), login(demo.mentor)]);
  // The student reads French, in Montreal's zone; the mentor English, in Paris.
  t.equal((await api(url, 'PATCH', '/me', student, { locale: 'fr', timeZone: 'America/Montreal' })).status, 200);
  t.equal((await api(url, 'PATCH', '/me', mentor, { locale: 'en', timeZone: 'Europe/Paris' })).status, 200);
  await bookableMentor(url, mentor, demo.mentor.id);

  const booked = await api(url, 'POST', '/sessions', student, { startsAt: '2027-01-06T09:00:00Z', projectId: demo.projectIds[0] });
  t.equal(booked.status, 201);
  const id = booked.body.id as string;
  const [first, second] = await inbox.waitFor(2);
  const byAddress = (mails: ParsedMail[], address: string) => mails.find((m) => to(m) === address)!;
  const toStudent = byAddress([first!, second!], demo.student.email);
  const toMentor = byAddress([first!, second!], demo.mentor.email);
  t.ok(toStudent && toMentor, 'one mail to each participant');

  const invite = calendarOf(toStudent);
  t.equal(invite.method, 'REQUEST');
  t.equal(invite.uid, `${id}@mentor-live`, 'the same UID as the feeds');
  t.equal(invite.sequence, 0);
  t.equal(invite.start, '2027-01-06T09:00:00.000Z');
  t.match(invite.organizer, new RegExp(`mailto:${demo.mentor.email}`, 'i'), 'the mentor organises');
  t.equal(invite.attendees.length, 2);
  t.ok(toStudent.text && toStudent.html, 'a text and an HTML part');
  t.match(toStudent.subject, /^Invitation : Session de mentorat/, 'French subject');
  // 09:00 UTC on 6 January is 04:00 in Montreal (UTC-5).
  t.match(toStudent.text!, /mercredi 6 janvier 2027, 04:00 – 04:45 \(heure normale de l’Est nord-américain\)/, 'time in the student\'s zone');
  t.match(toStudent.text!, new RegExp(`/#/sessions/${id}`), 'the join link');
  t.match(toMentor.subject, /^Invitation: Mentoring session/, 'the mentor reads English');
  t.match(toMentor.text!, /10:00 AM/, 'in Paris time for the mentor');
  t.match(header(toStudent, 'List-Unsubscribe'), /\/unsubscribe\//);
  t.equal(header(toStudent, 'List-Unsubscribe-Post'), 'List-Unsubscribe=One-Click');

  const moved = await api(url, 'POST', `/sessions/${id}/reschedule`, student, { startsAt: '2027-01-06T13:00:00Z' });
  t.equal(moved.status, 200);
  const afterMove = await inbox.waitFor(4);
  const update = calendarOf(byAddress(afterMove.slice(2), demo.student.email));
  t.equal(update.method, 'REQUEST');
  t.equal(update.uid, invite.uid, 'same UID');
  t.ok(update.sequence > invite.sequence, 'higher SEQUENCE');
  t.equal(update.start, '2027-01-06T13:00:00.000Z');
  t.match(byAddress(afterMove.slice(2), demo.student.email).subject, /^Modifié : /);

  const cancelled = await api(url, 'POST', `/sessions/${id}/cancel`, mentor, {});
  t.equal(cancelled.status, 200);
  const afterCancel = await inbox.waitFor(6);
  const cancel = calendarOf(byAddress(afterCancel.slice(4), demo.student.email));
  t.equal(cancel.method, 'CANCEL');
  t.equal(cancel.uid, invite.uid);
  t.equal(cancel.status, 'CANCELLED');
  t.ok(cancel.sequence > update.sequence);

  // The feed and the mail agree on UID and SEQUENCE.
  const feed = await api(url, 'GET', '/calendar/feed', student);
  const feedBody = await (await fetch(`${url}${new URL(feed.body.url).pathname}`)).text();
  const feedEvent = new ICAL.Component(ICAL.parse(feedBody)).getAllSubcomponents('vevent').find((e) => e.getFirstPropertyValue('uid') === invite.uid)!;
  t.equal(Number(feedEvent.getFirstPropertyValue("sequence")), cancel.sequence);

  await new Promise((r) => setTimeout(r, 500));
  t.equal(inbox.mails.length, 6, 'nothing sent twice');
});

t.test('a mail server refusing for a while: every message arrives exactly once', async (t) => {
  const inbox = await startInbox(t);
  inbox.refusing = true;
  const now = Date.parse('2027-01-04T06:00:00Z');
  const { url, demo, login, db } = await startTestApp(t, {
    clock: { now: () => new Date(now) },
    env: { SMTP_URL: inbox.url, MAIL_RETRY_DELAY_MS: '200', MAIL_ATTEMPTS: '12' },
  });
  const [student, mentor] = await Promise.all([login(demo.student), login(demo.mentor)]);
  await bookableMentor(url, mentor, demo.mentor.id);
  // Three bookings at once, then a reschedule and a cancel: 10 mails in all.
  const starts = ['2027-01-06T09:00:00Z', '2027-01-06T10:00:00Z', '2027-01-07T09:00:00Z'];
  const booked = await Promise.all(starts.map((startsAt) => api(url, 'POST', '/sessions', student, { startsAt, projectId: demo.projectIds[0] })));
  t.same(booked.map((b) => b.status), [201, 201, 201]);
  t.equal((await api(url, 'POST', `/sessions/${booked[0]!.body.id}/reschedule`, student, { startsAt: '2027-01-06T14:00:00Z' })).status, 200);
  t.equal((await api(url, 'POST', `/sessions/${booked[1]!.body.id}/cancel`, student, {})).status, 200);

  // Refuse until every pending mail has been refused at least once, then accept.
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const pending = await db.one<{ n: number; tried: number }>(`SELECT count(*)::int AS n, count(*) FILTER (WHERE attempts > 0)::int AS tried FROM mail_messages WHERE status = 'pending'`);
    if (pending!.n === 10 && pending!.tried === 10) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(inbox.refusals >= 10, `the server refused (${inbox.refusals} times)`);
  t.equal(inbox.mails.length, 0, 'nothing arrived while refused');
  inbox.refusing = false;

  const mails = await inbox.waitFor(10, 30_000);
  await new Promise((r) => setTimeout(r, 1_000));
  t.equal(inbox.mails.length, 10, 'ten messages');
  const ids = mails.map((m) => m.messageId);
  t.equal(new Set(ids).size, 10, 'each exactly once');
  const status = await db.query<{ status: string }>('SELECT status FROM mail_messages');
  t.same([...new Set(status.map((s) => s.status))], ['sent']);
});

t.test('an unsubscribed user gets no reminder mail and still gets the cancellation', async (t) => {
  const inbox = await startInbox(t);
  let offset = 0;
  const clock = { now: () => new Date(Date.now() + offset) };
  const { url, demo, login } = await startTestApp(t, {
    clock,
    env: { SMTP_URL: inbox.url, MAIL_RETRY_DELAY_MS: '100', REMINDER_OFFSETS_MINUTES: '15', MINIMUM_NOTICE_MINUTES: '0' },
  });
  const [student, mentor] = await Promise.all([login(demo.student), login(demo.mentor)]);
  const put = await api(url, 'PUT', `/hosts/${demo.mentor.id}/availability`, mentor, {
    timeZone: 'UTC',
    bufferMinutes: 0,
    weekly: [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '00:00', end: '24:00' })),
  });
  t.equal(put.status, 200);
  // Stand the clock 15 minutes and 10 seconds before a slot: the reminder fires 10 s after booking,
  // time enough to read the invitation and click its unsubscribe link first.
  const slot = Math.ceil((Date.now() + 2 * 3_600_000) / 900_000) * 900_000;
  offset = slot - 15 * 60_000 - 10_000 - Date.now();
  const booked = await api(url, 'POST', '/sessions', student, { startsAt: new Date(slot).toISOString(), projectId: demo.projectIds[0] });
  t.equal(booked.status, 201);
  const id = booked.body.id as string;
  const invitations = await inbox.waitFor(2);
  const studentInvite = invitations.find((m) => to(m) === demo.student.email)!;

  // One click on the link of the mail (RFC 8058: a POST to the List-Unsubscribe URL).
  const link = /<([^>]+)>/.exec(header(studentInvite, 'List-Unsubscribe'))![1]!;
  // PUBLIC_URL is the configured address; the test server listens on a free port.
  const unsubscribed = await fetch(`${url}${new URL(link).pathname}`, { method: 'POST', body: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  t.equal(unsubscribed.status, 200);
  t.same((await api(url, 'GET', '/me/preferences', student)).body, { reminderEmail: false, reminderBrowser: true });

  // The reminder: the mentor gets it by mail, the student does not.
  const withReminder = await inbox.waitFor(3);
  t.match(withReminder[2]!.subject, /^Rappel : Session de mentorat/, 'in the mentor\'s French');
  t.equal(to(withReminder[2]!), demo.mentor.email, 'only the mentor is reminded by mail');

  t.equal((await api(url, 'POST', `/sessions/${id}/cancel`, mentor, {})).status, 200);
  const all = await inbox.waitFor(5);
  const cancellations = all.slice(3).map((m) => [to(m), calendarOf(m).method]);
  t.same(cancellations.sort(), [[demo.mentor.email, 'CANCEL'], [demo.student.email, 'CANCEL']].sort(), 'the cancellation reaches the unsubscribed student');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(inbox.mails.length, 5);
  t.notOk(inbox.mails.some((m) => to(m) === demo.student.email && /^(Reminder|Rappel)/.test(m.subject ?? '')), 'no reminder mail to the student');
});

t.test('with no SMTP configured, mail is written as .eml files', async (t) => {
  const { url, demo, login, config } = await startTestApp(t, { clock: { now: () => new Date('2027-01-04T06:00:00Z') } });
  const [student, mentor] = await Promise.all([login(demo.student), login(demo.mentor)]);
  await bookableMentor(url, mentor, demo.mentor.id);
  t.equal((await api(url, 'POST', '/sessions', student, { startsAt: '2027-01-06T09:00:00Z', projectId: demo.projectIds[0] })).status, 201);
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const dir = join(config.dataDir, 'mail');
  const deadline = Date.now() + 10_000;
  let files: string[] = [];
  while (Date.now() < deadline) {
    files = (() => {
      try {
        return readdirSync(dir).filter((f) => f.endsWith('.eml'));
      } catch {
        return [];
      }
    })();
    if (files.length >= 2) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  t.equal(files.length, 2, 'one file per participant');
  const parsed = await simpleParser(readFileSync(join(dir, files[0]!)));
  t.equal(calendarOf(parsed).method, 'REQUEST');
});
