import { createHash, createHmac, randomBytes } from 'node:crypto';
import ical, { ICalEventStatus, type ICalCalendar } from 'ical-generator';
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
 * - URL and LOCATION carry the join link; the description names the project;
 * - strict RFC 5545 text: every line ends with CRLF (the last one too, which
 *   ical-generator leaves out) and every TEXT value is escaped (ical-generator
 *   escapes the events' but writes the calendar's NAME / X-WR-CALNAME raw).
 */
export const PRODUCT_ID = { company: 'Mentor Live', product: 'Sessions', language: 'EN' } as const;

export const eventUid = (sessionId: string) => `${sessionId}@mentor-live`;

/** The event title, the same in feeds and in e-mailed invitations. */
export function summaryOf(s: Pick<SessionDetail, 'kind' | 'studentName' | 'pathTitle' | 'projectTitle' | 'hostName'>): string {
  if (s.kind === 'defence') return `Diploma defence: ${s.studentName} (${s.pathTitle})`;
  return `Mentoring: ${s.projectTitle ?? s.pathTitle} (${s.studentName} with ${s.hostName})`;
}

/** RFC 5545 §3.3.11 TEXT escaping: backslash, semicolon, comma and line breaks. */
/**
 * What makes an event the same event in every calendar object the server sends (feed and
 * e-mailed invitation alike): UID, SEQUENCE, times, stamps and summary.
 */
export function eventIdentity(s: SessionDetail) {
  return {
    id: eventUid(s.id),
    sequence: s.sequence,
    start: s.startsAt,
    end: s.endsAt,
    stamp: s.updatedAt,
    lastModified: s.updatedAt,
    created: s.createdAt,
    summary: summaryOf(s),
  };
}

export const escapeText = (value: string) => value.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\r\n|\r|\n/g, '\\n');

export function renderCalendar(name: string, sessions: SessionDetail[], joinUrl: (id: string) => string): string {
  const cal = ical({ name: escapeText(name), prodId: PRODUCT_ID, ttl: 15 * 60 });
  for (const s of sessions) {
    const url = joinUrl(s.id);
    cal.createEvent({
      ...eventIdentity(s),
      status: s.status === 'cancelled' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
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
  return icsText(cal);
}

/** A calendar's text as RFC 5545 wants it: ical-generator ends the last line (END:VCALENDAR) without its CRLF. */
export function icsText(cal: ICalCalendar): string {
  const body = cal.toString();
  return body.endsWith('\r\n') ? body : `${body}\r\n`;
}

/** Strong ETag of a rendered body. */
export const etagOf = (body: string) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`;

/**
 * Bump when `renderCalendar` (or ical-generator) starts rendering the same data
 * differently: the feed ETag is computed from the data, not from the bytes.
 * 2: CRLF after END:VCALENDAR, escaped NAME / X-WR-CALNAME.
 */
export const FEED_RENDER_VERSION = 2;

/** Days of past sessions a feed keeps (calendar apps keep what they saw anyway). */
export const FEED_PAST_DAYS = 30;

/**
 * Where a feed's sessions are taken from: every session ending after `from`,
 * with no upper bound. A host may allow bookings up to 366 days ahead and a
 * session may be moved further, so any horizon of the feed's own would leave
 * booked sessions out of the participants' calendars.
 */
export interface FeedWindow {
  from: Date;
}

export const feedWindow = (now: Date): FeedWindow => ({ from: new Date(now.getTime() - FEED_PAST_DAYS * 86_400_000) });

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
  if (!TOKEN.test(token)) return undefined;
  return db.one<FeedState>(
    `SELECT u.id AS "userId", u.name, u.time_zone AS "timeZone",
            (SELECT encode(sha256(convert_to(COALESCE(json_agg(d ORDER BY d."startsAt", d.id)::text, '[]'), 'UTF8')), 'base64')
               FROM (${DETAIL_SELECT}
                      WHERE (EXISTS (SELECT 1 FROM session_participants sp WHERE sp.session_id = s.id AND sp.user_id = u.id) OR s.created_by = u.id)
                        AND s.ends_at > $2) d) AS "sessionsDigest"
       FROM calendar_tokens c JOIN users u ON u.id = c.user_id
      WHERE c.token_hash = $1`,
    [tokenHash(token), window.from],
  );
}

/**
 * Strong ETag of a feed, from its data: the rendered body is a pure function
 * of these (same data → same bytes, see above), so equal ETags mean
 * byte-identical bodies. The UTC day is part of it so that the ETag also turns
 * over with the day the window is computed from.
 */
export function feedEtag(p: { token: string; state: FeedState; day: string; joinUrlOf: string }): string {
  const input = JSON.stringify([FEED_RENDER_VERSION, p.token, p.state.userId, p.state.name, p.state.timeZone, p.day, p.joinUrlOf, p.state.sessionsDigest]);
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

/*
 * Feed tokens. A feed URL is a bearer secret, so the database keeps only its
 * SHA-256, as for refresh tokens. The owner must still be able to see their URL
 * again (GET /calendar/feed), so the token is not random but derived:
 * HMAC-SHA256(server secret, user id and a random per-user nonce). The nonce
 * alone (in the database) gives nothing without the server secret; rotating
 * draws a new nonce, and the old URL stops matching at once.
 */
const TOKEN = /^[A-Za-z0-9_-]{20,64}$/;
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');
const deriveToken = (secret: string, userId: string, nonce: string) => createHmac('sha256', secret).update(`calendar-feed\n${userId}\n${nonce}`).digest('base64url');
const newNonce = () => randomBytes(18).toString('base64url');

/** The user's feed token, created on first use. */
export async function feedToken(db: Queryable, secret: string, userId: string): Promise<string> {
  const nonce = newNonce();
  await db.execute('INSERT INTO calendar_tokens (user_id, nonce, token_hash) VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING', [
    userId,
    nonce,
    tokenHash(deriveToken(secret, userId, nonce)),
  ]);
  const row = (await db.one<{ nonce: string | null; tokenHash: string }>('SELECT nonce, token_hash AS "tokenHash" FROM calendar_tokens WHERE user_id = $1', [userId]))!;
  const token = row.nonce === null ? undefined : deriveToken(secret, userId, row.nonce);
  if (token !== undefined && tokenHash(token) === row.tokenHash) return token;
  // A token stored before hashing (its URL cannot be shown again) or a new server secret: a new URL.
  return rotateFeedToken(db, secret, userId);
}

/** A new token; the old URL stops working at once. */
export async function rotateFeedToken(db: Queryable, secret: string, userId: string): Promise<string> {
  const nonce = newNonce();
  const token = deriveToken(secret, userId, nonce);
  await db.execute(
    `INSERT INTO calendar_tokens (user_id, nonce, token_hash, created_at) VALUES ($1, $2, $3, now())
     ON CONFLICT (user_id) DO UPDATE SET nonce = EXCLUDED.nonce, token_hash = EXCLUDED.token_hash, created_at = now()`,
    [userId, nonce, tokenHash(token)],
  );
  return token;
}
