import type { Redis } from 'ioredis';
import type { Queryable } from '../db/index.ts';
import type { Role } from './service.ts';

/** What every request and socket event checks its token against: the store's word, not the claim's. */
export interface UserState {
  role: Role;
  version: number;
  disabled: boolean;
}

/** How long a request waits for the Redis cache before it reads the store instead. */
const CACHE_WAIT_MS = 250;

/**
 * Users' token versions, roles and disabled flags, read from PostgreSQL and
 * cached briefly in Redis (so every node sees a bump at once: the bump deletes
 * the cached entry, whichever node made it). Checked on every authenticated
 * request and socket event.
 */
export class UserStates {
  readonly #db: Queryable;
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #ttlSeconds: number;

  constructor(db: Queryable, redis: Redis, prefix: string, ttlSeconds = 30) {
    this.#db = db;
    this.#redis = redis;
    this.#prefix = prefix;
    this.#ttlSeconds = ttlSeconds;
  }

  #key(userId: string) {
    return `${this.#prefix}:user-state:${userId}`;
  }

  /** The user's state; undefined when the account does not exist. */
  async get(userId: string): Promise<UserState | undefined> {
    const cached = await this.#cached(userId);
    if (cached) return JSON.parse(cached) as UserState;
    const row = await this.#db.one<{ role: Role; token_version: number; disabled_at: Date | null }>(
      'SELECT role, token_version, disabled_at FROM users WHERE id = $1',
      [userId],
    );
    if (!row) return undefined;
    const state: UserState = { role: row.role, version: row.token_version, disabled: row.disabled_at !== null };
    // Best effort: a Redis that does not answer must not hold the request (the store has answered).
    this.#redis.set(this.#key(userId), JSON.stringify(state), 'EX', this.#ttlSeconds).catch(() => undefined);
    return state;
  }

  /**
   * The cached entry, or null when Redis does not answer within CACHE_WAIT_MS: the cache only saves
   * PostgreSQL a read, so a Redis outage costs a query per request, not every request of the school.
   */
  async #cached(userId: string): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<null>((resolve) => {
      timer = setTimeout(() => resolve(null), CACHE_WAIT_MS);
    });
    try {
      return await Promise.race([this.#redis.get(this.#key(userId)).catch(() => null), gaveUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Revokes every access token of the user: the version goes up in the store
   * (inside the caller's transaction when `q` is given) and the cache entry goes.
   * Call `forget` again after the transaction commits (a reader may have cached the old row meanwhile).
   */
  async bump(q: Queryable, userId: string): Promise<number> {
    const row = await q.one<{ token_version: number }>('UPDATE users SET token_version = token_version + 1 WHERE id = $1 RETURNING token_version', [userId]);
    await this.forget(userId);
    return row?.token_version ?? 0;
  }

  async forget(userId: string): Promise<void> {
    await this.#redis.del(this.#key(userId));
  }
}
