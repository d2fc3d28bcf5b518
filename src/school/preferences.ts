import { randomBytes } from 'node:crypto';
import type { Queryable } from '../db/index.ts';

/**
 * Which notifications reach a user on which channel. Invitations, updates and
 * cancellations are always e-mailed (they change the user's calendar);
 * reminders follow these preferences. A row is created on first read, with
 * everything on and a random one-click unsubscribe token.
 */
export interface NotificationPreferences {
  reminderEmail: boolean;
  reminderBrowser: boolean;
}

const SELECT = `SELECT reminder_email AS "reminderEmail", reminder_browser AS "reminderBrowser" FROM notification_preferences WHERE user_id = $1`;

async function ensureRow(db: Queryable, userId: string): Promise<void> {
  await db.execute(
    `INSERT INTO notification_preferences (user_id, unsubscribe_token) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING`,
    [userId, randomBytes(24).toString('base64url')],
  );
}

export async function preferencesOf(db: Queryable, userId: string): Promise<NotificationPreferences> {
  const row = await db.one<NotificationPreferences>(SELECT, [userId]);
  return row ?? { reminderEmail: true, reminderBrowser: true };
}

export async function updatePreferences(db: Queryable, userId: string, change: Partial<NotificationPreferences>, at: Date): Promise<NotificationPreferences> {
  await ensureRow(db, userId);
  await db.execute(
    `UPDATE notification_preferences SET reminder_email = COALESCE($2, reminder_email), reminder_browser = COALESCE($3, reminder_browser), updated_at = $4
      WHERE user_id = $1`,
    [userId, change.reminderEmail ?? null, change.reminderBrowser ?? null, at],
  );
  return preferencesOf(db, userId);
}

/** The user's secret unsubscribe token (for the link in every mail). */
export async function unsubscribeToken(db: Queryable, userId: string): Promise<string> {
  await ensureRow(db, userId);
  return (await db.one<{ token: string }>('SELECT unsubscribe_token AS token FROM notification_preferences WHERE user_id = $1', [userId]))!.token;
}

/** One-click unsubscribe (RFC 8058): reminder e-mails off. False when the token is unknown. */
export async function unsubscribeByToken(db: Queryable, token: string, at: Date): Promise<boolean> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(token)) return false;
  return (await db.execute('UPDATE notification_preferences SET reminder_email = false, updated_at = $2 WHERE unsubscribe_token = $1', [token, at])) > 0;
}
