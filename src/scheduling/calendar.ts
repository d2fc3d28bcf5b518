import { createHash, randomBytes } from 'node:crypto';
import ical, { ICalEventStatus } from 'ical-generator';
import type { Queryable } from '../db/index.ts';
import { DETAIL_SELECT, type SessionDetail } from './sessions.ts';

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

/**
 * Bump when `renderCalendar` (or ical-generator) starts rendering the same data
 * differently: the feed ETag is computed from the data, not from the bytes.
 */
export const FEED_RENDER_VERSION = 1;

/** Where a feed's sessions are taken from: sessions overlapping [from, to). */
export interface FeedWindow {
  from: Date;
  to: Date;
}

export interface FeedState {
  userId: string;
  name: string;
  timeZone: string;
  /** sha256 (base64) of every detail row the feed would render, in feed order. */
  sessionsDigest: string;
}

/**
 * One query for everything a feed's body depends on, without rendering: the
 * owner of the token (name, zone) and a digest of the very rows
 * `sessionsForUser(…, includeCancelled = true)` returns for the window (the
 * same DETAIL_SELECT and WHERE, every column: id, sequence, status, times,
 * created/updated_at, project and path titles, student's and host's names…).
 * A reschedule, a cancellation, a renamed participant or project, a session
 * entering or leaving the window all change the digest.
 */
export async function feedState(db: Queryable, token: string, window: FeedWindow): Promise<FeedState | undefined> {
  if (!/^[A-Za-z0-9_-]{20,64}$/.test(token)) return undefined;
  return db.one<FeedState>(
    `SELECT u.id AS "userId", u.name, u.time_zone AS "timeZone",
            (SELECT encode(sha256(convert_to(COALESCE(json_agg(d ORDER BY d."startsAt", d.id)::text, '[]'), 'UTF8')), 'base64')
               FROM (${DETAIL_SELECT}
                      WHERE (EXISTS (SELECT 1 FROM session_participants sp WHERE sp.session_id = s.id AND sp.user_id = u.id) OR s.created_by = u.id)
                        AND s.ends_at > $2 AND s.starts_at < $3) d) AS "sessionsDigest"
       FROM calendar_tokens c JOIN users u ON u.id = c.user_id
      WHERE c.token = $1`,
    [token, window.from, window.to],
  );
}

/**
 * Strong ETag of a feed, from its data: the rendered body is a pure function
 * of these (same data → same bytes, see above), so equal ETags mean
 * byte-identical bodies. The UTC day is part of it so that the ETag also turns
 * over with the day the window is computed from.
 */
export function feedEtag(p: { token: string; state: FeedState; day: string; horizonDays: number; joinUrlOf: string }): string {
  const input = JSON.stringify([FEED_RENDER_VERSION, p.token, p.state.userId, p.state.name, p.state.timeZone, p.day, p.horizonDays, p.joinUrlOf, p.state.sessionsDigest]);
  return `"${createHash('sha256').update(input).digest('base64url').slice(0, 32)}"`;
}

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
