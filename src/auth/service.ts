import { createHash, randomBytes } from 'node:crypto';
import type { Db, Queryable } from '../db/index.ts';
import { unauthenticated } from '../shared/errors.ts';
import { DUMMY_HASH, verifyPassword } from './passwords.ts';

export type Role = 'student' | 'mentor' | 'jury' | 'coordinator';
export const ROLES: readonly Role[] = ['student', 'mentor', 'jury', 'coordinator'];
export type Locale = 'en' | 'fr' | 'es';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  time_zone: string;
  locale: Locale;
}

export interface PublicUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  timeZone: string;
  locale: Locale;
}

export const toPublicUser = (u: UserRow): PublicUser => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
  timeZone: u.time_zone,
  locale: u.locale,
});

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

export interface IssuedRefreshToken {
  token: string;
  expiresAt: Date;
}

/** Checks e-mail and password; the same error for an unknown e-mail and a wrong password. */
export async function authenticate(db: Db, email: string, password: string): Promise<UserRow> {
  const row = await db.one<UserRow & { password_hash: string }>(
    'SELECT id, email, name, role, time_zone, locale, password_hash FROM users WHERE lower(email) = lower($1)',
    [email],
  );
  const ok = await verifyPassword(password, row?.password_hash ?? DUMMY_HASH);
  if (!row || !ok) throw unauthenticated('invalid_credentials', 'E-mail or password is wrong');
  const { password_hash: _drop, ...user } = row;
  return user;
}

export async function issueRefreshToken(db: Queryable, userId: string, ttlDays: number): Promise<IssuedRefreshToken> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + ttlDays * 86_400_000);
  await db.execute('INSERT INTO refresh_tokens (user_id, token_hash, expires_at) VALUES ($1, $2, $3)', [userId, sha256(token), expiresAt]);
  return { token, expiresAt };
}

/** Where the successor of a just-rotated refresh token is kept for the grace period (Redis, shared by every node). */
export interface RotationGrace {
  seconds: number;
  remember(oldHash: string, successor: IssuedRefreshToken): Promise<void>;
  recall(oldHash: string): Promise<IssuedRefreshToken | undefined>;
}

/**
 * Rotates a refresh token: the presented one is revoked and a new one issued.
 * Presenting an already revoked token means it leaked: every token of that
 * user is revoked, except within a short grace after its rotation, where the
 * same successor is returned (parallel refreshes of one client, e.g. several
 * tabs, as OAuth servers allow) instead of logging the person out.
 */
export async function rotateRefreshToken(db: Db, token: string, ttlDays: number, grace?: RotationGrace): Promise<{ user: UserRow; refresh: IssuedRefreshToken }> {
  const hash = sha256(token);
  const outcome = await db.tx(async (q) => {
    const row = await q.one<{ id: string; user_id: string; expires_at: Date; revoked_at: Date | null }>(
      'SELECT id, user_id, expires_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE',
      [hash],
    );
    if (!row) throw unauthenticated('refresh_token_invalid', 'Unknown refresh token');
    if (row.revoked_at) {
      // Within the grace: the successor the first of the parallel refreshes made (remembered before it committed).
      const successor = grace && Date.now() - row.revoked_at.getTime() <= grace.seconds * 1000 ? await grace.recall(hash) : undefined;
      if (successor) return { reused: false as const, userId: row.user_id, refresh: successor };
      // Reuse is handled after the transaction: throwing here would roll back the revocation.
      return { reused: true as const, userId: row.user_id };
    }
    if (row.expires_at.getTime() <= Date.now()) throw unauthenticated('refresh_token_expired', 'This refresh token has expired');
    await q.execute('UPDATE refresh_tokens SET revoked_at = now() WHERE id = $1', [row.id]);
    // Issued in the same transaction, and remembered before it commits: a parallel refresh waiting on the row lock finds it.
    const refresh = await issueRefreshToken(q, row.user_id, ttlDays);
    await grace?.remember(hash, refresh);
    return { reused: false as const, userId: row.user_id, refresh };
  });
  if (outcome.reused) {
    await db.execute('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [outcome.userId]);
    throw unauthenticated('refresh_token_revoked', 'This refresh token was revoked');
  }
  const user = await db.one<UserRow>('SELECT id, email, name, role, time_zone, locale FROM users WHERE id = $1', [outcome.userId]);
  if (!user) throw unauthenticated('refresh_token_invalid', 'The account no longer exists');
  return { user, refresh: outcome.refresh };
}

/** Revokes one refresh token; the id of its owner (undefined for an unknown token). */
export async function revokeRefreshToken(db: Db, token: string): Promise<string | undefined> {
  const row = await db.one<{ user_id: string }>('UPDATE refresh_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE token_hash = $1 RETURNING user_id', [sha256(token)]);
  return row?.user_id;
}

/** Revokes every refresh token of a user (password change, disabling). */
export async function revokeAllRefreshTokens(q: Queryable, userId: string): Promise<void> {
  await q.execute('UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL', [userId]);
}

/** The password hash of a user, to check the current password before a change. */
export async function passwordHashOf(q: Queryable, userId: string): Promise<string | undefined> {
  return (await q.one<{ password_hash: string }>('SELECT password_hash FROM users WHERE id = $1', [userId]))?.password_hash;
}
