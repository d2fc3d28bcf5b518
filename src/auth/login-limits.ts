import { createHash } from 'node:crypto';
import type { RedisRateLimiter } from '../shared/rate-limit.ts';
import { rateLimited } from '../shared/rate-limit.ts';

/**
 * The two login limits, both counted in Redis so every node sees every attempt:
 * - per client address: every attempt counts (LOGIN_RATE_LIMIT_PER_MINUTE), the
 *   address being the TCP peer unless it is a configured proxy (TRUST_PROXY);
 * - per account: failed attempts count (LOGIN_ACCOUNT_FAILURE_LIMIT per
 *   LOGIN_ACCOUNT_WINDOW_MINUTES), so a guesser spreading over many addresses
 *   is stopped too, while the owner's own successful logins never lock them out.
 * Both answer 429 `login_rate_limited` with Retry-After.
 */
export class LoginLimits {
  readonly #limiter: RedisRateLimiter;
  readonly #perAddress: number;
  readonly #perAccount: number;
  readonly #accountWindowMs: number;

  constructor(limiter: RedisRateLimiter, config: { loginRateLimitPerMinute: number; loginAccountFailureLimit: number; loginAccountWindowMinutes: number }) {
    this.#limiter = limiter;
    this.#perAddress = config.loginRateLimitPerMinute;
    this.#perAccount = config.loginAccountFailureLimit;
    this.#accountWindowMs = config.loginAccountWindowMinutes * 60_000;
  }

  /** The account's key: hashed, so e-mail addresses do not sit in Redis. */
  static #account(email: string): string {
    return `login:acct:${createHash('sha256').update(email.trim().toLowerCase()).digest('base64url')}`;
  }

  async beforeAttempt(address: string, email: string): Promise<void> {
    await this.#limiter.consume(`login:ip:${address}`, this.#perAddress, 60_000, 'login_rate_limited', 'Too many login attempts from this address');
    const account = await this.#limiter.peek(LoginLimits.#account(email));
    if (account.count >= this.#perAccount) throw rateLimited('login_rate_limited', 'Too many failed logins for this account', account.retryAfterMs);
  }

  async failed(email: string): Promise<void> {
    await this.#limiter.hit(LoginLimits.#account(email), this.#accountWindowMs);
  }
}
