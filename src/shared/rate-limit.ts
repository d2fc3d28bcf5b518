import type { Redis } from 'ioredis';
import { DomainError, type CodeOf } from './errors.ts';

/**
 * Fixed-window counters kept in Redis, so every node of a cluster counts the
 * same attempts (a per-process memory store lets a client spread its attempts
 * over the nodes, and forgets them at every restart).
 */
export class RedisRateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  /** Counts one hit on `key` in a window of `windowMs`; the count so far and the milliseconds left in the window. */
  async hit(key: string, windowMs: number): Promise<{ count: number; retryAfterMs: number }> {
    const full = `${this.#prefix}:rl:${key}`;
    // SET NX starts the window with its expiry in the same step as the first INCR: no key without a TTL.
    const res = await this.#redis.multi().set(full, '0', 'PX', windowMs, 'NX').incr(full).pttl(full).exec();
    const count = Number(res?.[1]?.[1] ?? 0);
    const ttl = Number(res?.[2]?.[1] ?? windowMs);
    return { count, retryAfterMs: ttl > 0 ? ttl : windowMs };
  }

  /** The count of `key` in its current window without counting (0 when none). */
  async peek(key: string): Promise<{ count: number; retryAfterMs: number }> {
    const full = `${this.#prefix}:rl:${key}`;
    const res = await this.#redis.multi().get(full).pttl(full).exec();
    const count = Number(res?.[0]?.[1] ?? 0);
    const ttl = Number(res?.[1]?.[1] ?? 0);
    return { count, retryAfterMs: ttl > 0 ? ttl : 0 };
  }

  /** Counts a hit and throws a 429 `code` (with Retry-After) once `max` hits are exceeded in the window. */
  async consume(key: string, max: number, windowMs: number, code: CodeOf<'rate_limited'>, message: string): Promise<void> {
    const { count, retryAfterMs } = await this.hit(key, windowMs);
    if (count > max) throw rateLimited(code, message, retryAfterMs);
  }
}

/** A 429 with the seconds after which the client may try again (sent as `Retry-After`). */
export const rateLimited = (code: CodeOf<'rate_limited'>, message: string, retryAfterMs: number) =>
  new DomainError('rate_limited', code, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });
