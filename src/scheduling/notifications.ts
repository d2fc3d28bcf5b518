import type { Queryable } from '../db/index.ts';
import type { JobQueue } from '../jobs/index.ts';
import type { Clock } from '../shared/clock.ts';

/**
 * Notifications: written to the `notifications` table (the in-app list and an
 * outbox for e-mail later), then pushed as a Socket.IO `notification` event to
 * the user's channel `user:<id>` (every socket of a user joins it at connect).
 */
export interface Notification {
  id: string;
  userId: string;
  kind: string;
  sessionId: string | null;
  payload: Record<string, unknown>;
  createdAt: Date;
  readAt: Date | null;
}

export type Push = (userId: string, notification: Notification) => void;

export class Notifier {
  readonly #db: Queryable;
  readonly #push: Push;
  readonly #clock: Clock;

  constructor(db: Queryable, push: Push, clock: Clock) {
    this.#db = db;
    this.#push = push;
    this.#clock = clock;
  }

  /**
   * Writes one notification (in `q`'s transaction if given) and pushes it once
   * that commits; with a dedupe key, a second call with the same key does nothing.
   */
  async notify(
    userId: string,
    kind: string,
    sessionId: string | null,
    payload: Record<string, unknown>,
    dedupeKey?: string,
    q: Queryable = this.#db,
  ): Promise<Notification | undefined> {
    const row = await q.one<Notification>(
      `INSERT INTO notifications (user_id, kind, session_id, payload, dedupe_key, created_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (dedupe_key) DO NOTHING
       RETURNING id, user_id AS "userId", kind, session_id AS "sessionId", payload, created_at AS "createdAt", read_at AS "readAt"`,
      [userId, kind, sessionId, JSON.stringify(payload), dedupeKey ?? null, this.#clock.now()],
    );
    if (row) q.afterCommit(() => this.#push(userId, row));
    return row;
  }
}

export async function listNotifications(db: Queryable, userId: string, limit: number): Promise<Notification[]> {
  return db.query<Notification>(
    `SELECT id, user_id AS "userId", kind, session_id AS "sessionId", payload, created_at AS "createdAt", read_at AS "readAt"
       FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2`,
    [userId, limit],
  );
}

export async function markRead(db: Queryable, userId: string, id: string, at: Date): Promise<boolean> {
  return (await db.execute('UPDATE notifications SET read_at = COALESCE(read_at, $3) WHERE id = $1 AND user_id = $2', [id, userId, at])) > 0;
}

export interface ReminderJob {
  sessionId: string;
  offsetMinutes: number;
  /** The start the reminder was computed for; a reminder for an older start is dropped. */
  startsAt: string;
  fireAt: string;
}

/** Deterministic job id: one reminder per session and offset (BullMQ ids may not contain ':'). */
export const reminderJobId = (sessionId: string, offsetMinutes: number) => `reminder-${sessionId}-${offsetMinutes}`;

/**
 * Reminders are BullMQ delayed jobs in Redis, so a restart of the server loses
 * none. `sync` puts the jobs of a session in line with its current start
 * (booking creates them, a reschedule moves them, a cancellation removes
 * them); a reminder whose time has already passed is not created.
 */
export class Reminders {
  readonly #queue: JobQueue<ReminderJob>;
  readonly #offsets: number[];
  readonly #clock: Clock;

  constructor(queue: JobQueue<ReminderJob>, offsetsMinutes: number[], clock: Clock) {
    this.#queue = queue;
    this.#offsets = [...new Set(offsetsMinutes)];
    this.#clock = clock;
  }

  get queue(): JobQueue<ReminderJob> {
    return this.#queue;
  }

  async sync(session: { id: string; startsAt: Date; status: string }): Promise<void> {
    const now = this.#clock.now().getTime();
    for (const offset of this.#offsets) {
      const jobId = reminderJobId(session.id, offset);
      const existing = await this.#queue.queue.getJob(jobId);
      if (existing) {
        const state = await existing.getState();
        // An active job is being delivered right now; its processor re-checks the session.
        if (state === 'active') continue;
        // Completed or failed jobs keep their id: remove them too, or the new one would be deduplicated away.
        await existing.remove();
      }
      if (session.status !== 'scheduled') continue;
      const fireAt = session.startsAt.getTime() - offset * 60_000;
      if (fireAt <= now) continue;
      await this.#queue.add(
        { sessionId: session.id, offsetMinutes: offset, startsAt: session.startsAt.toISOString(), fireAt: new Date(fireAt).toISOString() },
        { jobId, delay: fireAt - now, attempts: 5, backoff: { type: 'exponential', delay: 2_000 } },
      );
    }
  }

  async removeAll(sessionId: string): Promise<void> {
    await this.sync({ id: sessionId, startsAt: new Date(0), status: 'cancelled' });
  }
}
