import { createHash, randomBytes } from 'node:crypto';
import ical, { ICalEventStatus } from 'ical-generator';
import type { Queryable } from '../db/index.ts';
import type { SessionDetail } from './sessions.ts';

/**
 * iCalendar output (ical-generator) that calendar apps can trust:
 * - UID `<session id>@mentor-live`: from the database, never regenerated, so
 *   an app updates the event in place instead of duplicating it;
 * - SEQUENCE = sessions.sequence, raised once per significant change (time,
 *   status) by the service;
 * - DTSTAMP and LAST-MODIFIED = sessions.updated_at (the revision time), so the
 *   same data always renders the same bytes (and the same ETag);
 * - times in UTC (DTSTART:…Z): no VTIMEZONE needed, and apps render them in
 *   the user's own zone;
 * - cancelled sessions stay in the feed with STATUS:CANCELLED, so apps remove
 *   them instead of keeping a ghost;
 * - URL and LOCATION carry the join link; the description names the project.
 */
export const PRODUCT_ID = { company: 'Mentor Live', product: 'Sessions', language: 'EN' } as const;

export const eventUid = (sessionId: string) => `${sessionId}@mentor-live`;

function summaryOf(s: SessionDetail): string {
  if (s.kind === 'defence') return `Diploma defence: ${s.studentName} (${s.pathTitle})`;
  return `Mentoring: ${s.projectTitle ?? s.pathTitle} (${s.studentName} with ${s.hostName})`;
}

export function renderCalendar(name: string, sessions: SessionDetail[], joinUrl: (id: string) => string): string {
  const cal = ical({ name, prodId: PRODUCT_ID, ttl: 15 * 60 });
  for (const s of sessions) {
    const url = joinUrl(s.id);
    cal.createEvent({
      id: eventUid(s.id),
      sequence: s.sequence,
      start: s.startsAt,
      end: s.endsAt,
      stamp: s.updatedAt,
      lastModified: s.updatedAt,
      created: s.createdAt,
      status: s.status === 'cancelled' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
      summary: summaryOf(s),
      description: [
        s.kind === 'defence' ? `Diploma defence of ${s.studentName}, path "${s.pathTitle}".` : `Project: ${s.projectTitle ?? '-'} (path "${s.pathTitle}").`,
        `Join: ${url}`,
        s.status === 'cancelled' ? 'This session was cancelled.' : '',
      ]
        .filter(Boolean)
        .join('\n'),
      url,
      location: url,
    });
  }
  return cal.toString();
}

/** Strong ETag of a rendered body. */
export const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

/** True when an If-None-Match header names this ETag (or "*"). */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(',').some((raw) => {
    const t = raw.trim().replace(/^W\//, '');
    return t === '*' || t === etag;
  });
}

const newToken = () => randomBytes(24).toString('base64url');

/** The user's feed token, created on first use. */
export async function feedToken(db: Queryable, userId: string): Promise<string> {
  await db.execute('INSERT INTO calendar_tokens (user_id, token) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING', [userId, newToken()]);
  return (await db.one<{ token: string }>('SELECT token FROM calendar_tokens WHERE user_id = $1', [userId]))!.token;
}

/** A new token; the old URL stops working at once. */
export async function rotateFeedToken(db: Queryable, userId: string): Promise<string> {
  const token = newToken();
  await db.execute(
    `INSERT INTO calendar_tokens (user_id, token, created_at) VALUES ($1, $2, now())
     ON CONFLICT (user_id) DO UPDATE SET token = EXCLUDED.token, created_at = now()`,
    [userId, token],
  );
  return token;
}

export async function userOfToken(db: Queryable, token: string): Promise<{ id: string; name: string } | undefined> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(token)) return undefined;
  return db.one<{ id: string; name: string }>('SELECT u.id, u.name FROM calendar_tokens c JOIN users u ON u.id = c.user_id WHERE c.token = $1', [token]);
}
