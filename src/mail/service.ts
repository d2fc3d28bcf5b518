import { createHash } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Locale } from '../auth/index.ts';
import type { Queryable } from '../db/index.ts';
import { preferencesOf, unsubscribeToken } from '../school/index.ts';
import { sessionDetail, type SessionDetail } from '../scheduling/index.ts';
import { renderItip, type ItipMethod } from './itip.ts';
import { renderMailText, type MailKind } from './texts.ts';

/**
 * Turns a change of a session into one stored message per recipient. The
 * message is rendered now, from the session as the change left it, and kept
 * whole in `mail_messages`; delivery (plugin.ts) only sends stored bytes.
 * `dedupe_key` names the change (session, SEQUENCE, recipient, method), so a
 * repeated event or a retried job never makes a second mail.
 */
export interface Recipient {
  userId: string;
  email: string;
  name: string;
  locale: Locale;
  timeZone: string;
  role: string;
}

export interface StoredMail {
  id: string;
  userId: string;
  recipient: string;
  raw: string;
  status: 'pending' | 'sent' | 'dead';
}

export interface MailServiceOptions {
  db: Queryable;
  from: string;
  publicUrl: string;
  now: () => Date;
}

export type SessionChangeKind = Exclude<MailKind, 'reminder'>;

const METHOD_OF: Record<SessionChangeKind, ItipMethod> = { invitation: 'REQUEST', update: 'REQUEST', cancellation: 'CANCEL' };

async function recipientsOf(db: Queryable, sessionId: string): Promise<Recipient[]> {
  return db.query<Recipient>(
    `SELECT u.id AS "userId", u.email, u.name, u.locale, u.time_zone AS "timeZone", sp.role
       FROM session_participants sp JOIN users u ON u.id = sp.user_id
      WHERE sp.session_id = $1 ORDER BY array_position(ARRAY['student','mentor','jury','observer'], sp.role), u.name`,
    [sessionId],
  );
}

async function previousStart(db: Queryable, sessionId: string, sequence: number): Promise<Date | undefined> {
  const row = await db.one<{ at: Date }>(
    `SELECT old_starts_at AS at FROM session_changes WHERE session_id = $1 AND change = 'rescheduled' AND sequence = $2 ORDER BY id DESC LIMIT 1`,
    [sessionId, sequence],
  );
  return row?.at ?? undefined;
}

export class MailService {
  readonly #o: MailServiceOptions;

  constructor(options: MailServiceOptions) {
    this.#o = options;
  }

  joinUrl = (sessionId: string) => `${this.#o.publicUrl}/#/sessions/${sessionId}`;

  /** Stores the mails announcing the session's current state; returns the ids of new pending mails. */
  async mailSessionChange(sessionId: string, kind: SessionChangeKind): Promise<string[]> {
    const session = await sessionDetail(this.#o.db, sessionId);
    if (!session) return [];
    // The mail says what the session is now: a booking event read after a cancellation mails the cancellation.
    const effective: SessionChangeKind = session.status === 'cancelled' ? 'cancellation' : kind;
    const method = METHOD_OF[effective];
    const recipients = await recipientsOf(this.#o.db, sessionId);
    const host = recipients.find((r) => r.userId === session.hostId) ?? recipients[0];
    if (!host) return [];
    const previous = effective === 'update' ? await previousStart(this.#o.db, sessionId, session.sequence) : undefined;
    const ics = renderItip({
      method,
      session,
      organizer: { name: host.name, email: host.email },
      attendees: recipients.map((r) => ({ name: r.name, email: r.email })),
      joinUrl: this.joinUrl(sessionId),
    });
    const ids: string[] = [];
    for (const r of recipients) {
      const id = await this.#store({
        dedupeKey: `session:${sessionId}:${session.sequence}:${method}:${r.userId}`,
        kind: effective,
        recipient: r,
        session,
        others: recipients.filter((o) => o.userId !== r.userId).map((o) => o.name),
        previousStartsAt: previous,
        ics: { method, content: ics },
      });
      if (id) ids.push(id);
    }
    return ids;
  }

  /** Reminder mails for the participants who want them; returns the ids of new pending mails. */
  async mailReminder(sessionId: string, minutesBefore: number, startsAt: string): Promise<string[]> {
    const session = await sessionDetail(this.#o.db, sessionId);
    if (!session || session.status !== 'scheduled' || session.startsAt.toISOString() !== startsAt) return [];
    const recipients = await recipientsOf(this.#o.db, sessionId);
    const ids: string[] = [];
    for (const r of recipients) {
      if (!(await preferencesOf(this.#o.db, r.userId)).reminderEmail) continue;
      const id = await this.#store({
        dedupeKey: `reminder:${sessionId}:${minutesBefore}:${startsAt}:${r.userId}`,
        kind: 'reminder',
        recipient: r,
        session,
        others: recipients.filter((o) => o.userId !== r.userId).map((o) => o.name),
        minutesBefore,
      });
      if (id) ids.push(id);
    }
    return ids;
  }

  async #store(m: {
    dedupeKey: string;
    kind: MailKind;
    recipient: Recipient;
    session: SessionDetail;
    others: string[];
    previousStartsAt?: Date;
    minutesBefore?: number;
    ics?: { method: ItipMethod; content: string };
  }): Promise<string | undefined> {
    const { db, publicUrl, from } = this.#o;
    const r = m.recipient;
    const unsubscribeUrl = `${publicUrl}/unsubscribe/${await unsubscribeToken(db, r.userId)}`;
    const text = renderMailText({
      kind: m.kind,
      locale: r.locale,
      timeZone: r.timeZone,
      recipientName: r.name,
      sessionKind: m.session.kind,
      title: m.session.kind === 'defence' ? m.session.pathTitle : (m.session.projectTitle ?? m.session.pathTitle),
      withNames: m.others,
      startsAt: m.session.startsAt,
      endsAt: m.session.endsAt,
      previousStartsAt: m.previousStartsAt,
      joinUrl: this.joinUrl(m.session.id),
      unsubscribeUrl,
      preferencesUrl: `${publicUrl}/#/preferences`,
      minutesBefore: m.minutesBefore,
    });
    // Deterministic Message-ID: should a send be repeated after a crash, receivers see the same message.
    const messageId = `<${createHash('sha256').update(m.dedupeKey).digest('hex').slice(0, 32)}@mentor-live>`;
    const raw = await new MailComposer({
      from,
      to: { name: r.name, address: r.email },
      subject: text.subject,
      text: text.text,
      html: text.html,
      messageId,
      date: this.#o.now(),
      headers: { 'List-Unsubscribe': `<${unsubscribeUrl}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      ...(m.ics ? { icalEvent: { method: m.ics.method, filename: 'invite.ics', content: m.ics.content } } : {}),
    })
      .compile()
      .build();
    const row = await db.one<{ id: string }>(
      `INSERT INTO mail_messages (dedupe_key, kind, user_id, session_id, recipient, subject, message_id, raw, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`,
      [m.dedupeKey, m.kind, r.userId, m.session.id, r.email, text.subject, messageId, raw.toString('utf8'), this.#o.now()],
    );
    return row?.id;
  }
}

export async function mailById(db: Queryable, id: string): Promise<StoredMail | undefined> {
  return db.one<StoredMail>('SELECT id, user_id AS "userId", recipient, raw, status FROM mail_messages WHERE id = $1', [id]);
}

export async function pendingMailIds(db: Queryable): Promise<string[]> {
  return (await db.query<{ id: string }>(`SELECT id FROM mail_messages WHERE status = 'pending' ORDER BY created_at`)).map((r) => r.id);
}
