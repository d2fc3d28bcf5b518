import type { Redis } from 'ioredis';
import { DomainError } from '../shared/errors.ts';

/**
 * Claim: set-if-absent with expiry. The epoch comes from a counter per room that
 * only grows, so every claim of a room is told apart from every earlier one
 * (a stale owner's renew or release never matches a newer holder's value).
 * Returns the lease value now held (ours, or the current holder's).
 */
const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current then return current end
local epoch = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], 86400000)
local value = ARGV[1] .. '#' .. epoch
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return value`;

/**
 * Renew: extend our own lease; take it back if it lapsed and nobody took it
 * since (a Redis restart without persistence, or a Redis outage longer than
 * the lease: our value is still unique, no one else can hold it). 0 = another
 * holder has it: we lost the room.
 */
const RENEW = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if current == false then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0`;

/** Release: compare-and-delete, only by the holder of that epoch. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

export interface Lease {
  nodeId: string;
  epoch: number;
}

export function parseLease(value: string): Lease {
  const at = value.lastIndexOf('#');
  return { nodeId: value.slice(0, at), epoch: Number(value.slice(at + 1)) };
}

/**
 * Room ownership: which server process holds the live room of a session, as
 * a lease in Redis (`<prefix>:room:<sessionId>` → `<nodeId>#<epoch>`, expiring
 * after `ttlMs` unless the owner renews it every third of that). Two nodes
 * racing for one room never both own it (the claim is one Lua script), a
 * crashed node's rooms lapse by themselves, and a node whose renew finds
 * another holder is told (`onLost`) and closes its copy.
 */
export class RoomDirectory {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly nodeId: string;
  readonly #ttlMs: number;
  readonly #onError: (err: unknown) => void;
  /** sessionId → our lease value. */
  readonly #held = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  /** Until then (epoch ms), rooms without a lease are not placed anew: owners are re-asserting theirs after a Redis outage. */
  #settlingUntil = 0;
  onLost: (sessionId: string) => void = () => undefined;

  constructor(redis: Redis, prefix: string, nodeId: string, onError: (err: unknown) => void, ttlMs = 15_000) {
    this.#onError = onError;
    this.#redis = redis;
    this.#prefix = prefix;
    this.nodeId = nodeId;
    this.#ttlMs = ttlMs;
  }

  key(sessionId: string): string {
    return `${this.#prefix}:room:${sessionId}`;
  }

  #epochKey(sessionId: string): string {
    return `${this.#prefix}:room-epoch:${sessionId}`;
  }

  /** Takes the room's lease for this node and returns its epoch; throws `room_elsewhere` (details.nodeId) when another node holds it. */
  async claim(sessionId: string): Promise<number> {
    const mine = this.#held.get(sessionId);
    if (mine) return parseLease(mine).epoch;
    const value = (await this.#redis.eval(CLAIM, 2, this.key(sessionId), this.#epochKey(sessionId), this.nodeId, String(this.#ttlMs))) as string;
    const lease = parseLease(value);
    if (lease.nodeId !== this.nodeId) {
      throw new DomainError('unavailable', 'room_elsewhere', 'This room is hosted by another server', { nodeId: lease.nodeId });
    }
    this.#held.set(sessionId, value);
    this.#startRenewing();
    return lease.epoch;
  }

  /** The epoch of our lease on the room, if we hold it. */
  epochOf(sessionId: string): number | undefined {
    const mine = this.#held.get(sessionId);
    return mine ? parseLease(mine).epoch : undefined;
  }

  async release(sessionId: string): Promise<void> {
    const mine = this.#held.get(sessionId);
    this.#held.delete(sessionId);
    if (mine) await this.#redis.eval(RELEASE, 1, this.key(sessionId), mine);
  }

  /** The current lease of a session's room, if any node holds it. */
  async lookup(sessionId: string): Promise<Lease | undefined> {
    const value = await this.#redis.get(this.key(sessionId));
    return value ? parseLease(value) : undefined;
  }

  /** Renews every lease once (also run every ttl/3); a lease found in other hands is dropped and reported. */
  async renewAll(): Promise<void> {
    await Promise.all(
      [...this.#held].map(async ([sessionId, value]) => {
        try {
          const kept = (await this.#redis.eval(RENEW, 1, this.key(sessionId), value, String(this.#ttlMs))) as number;
          if (kept === 1 || this.#held.get(sessionId) !== value) return;
          this.#held.delete(sessionId);
          this.onLost(sessionId);
        } catch (err) {
          // Redis unreachable: we cannot tell, so the room goes on (the lease is re-taken or found lost once Redis answers).
          this.#onError(err);
        }
      }),
    );
  }

  /** A renew period: how often leases are renewed (a third of the lease). */
  get renewPeriodMs(): number {
    return Math.max(500, Math.floor(this.#ttlMs / 3));
  }

  /**
   * Redis answers again after an outage (the client reconnected). A Redis
   * restarted without persistence (or a replica promoted before it had the
   * leases) holds no lease: every owner re-asserts its rooms now (RENEW takes
   * back a lease nobody else took), and for one renew period nobody places a
   * room that has no lease (\`settling\`), so a node that reconnected a moment
   * earlier does not build a second copy of a room whose owner has not
   * re-asserted yet. Resolves once our leases are renewed.
   */
  async redisReturned(): Promise<void> {
    this.#settlingUntil = Date.now() + this.renewPeriodMs;
    await this.renewAll();
  }

  /** Milliseconds left of the settling period after a Redis outage (0: none). */
  settlingMs(): number {
    return Math.max(0, this.#settlingUntil - Date.now());
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startRenewing(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.renewAll(), this.renewPeriodMs);
    this.#timer.unref();
  }
}
