import type { Redis } from 'ioredis';
import { DomainError } from '../shared/errors.ts';

const CLAIM = `
local current = redis.call('GET', KEYS[1])
if current == false or current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return current`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * Room placement: which server process holds the live room of a session.
 * `${prefix}:room:<sessionId>` → node id, with a TTL refreshed while the room
 * lives, so the entries of a crashed process expire by themselves. A room
 * lives in exactly one process: claiming a room another live node holds fails
 * with `room_elsewhere` (details: nodeId), for a front proxy to route by.
 */
export class RoomDirectory {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly nodeId: string;
  readonly #ttlMs: number;
  readonly #onError: (err: unknown) => void;
  readonly #held = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, prefix: string, nodeId: string, onError: (err: unknown) => void, ttlMs = 60_000) {
    this.#onError = onError;
    this.#redis = redis;
    this.#prefix = prefix;
    this.nodeId = nodeId;
    this.#ttlMs = ttlMs;
  }

  key(sessionId: string): string {
    return `${this.#prefix}:room:${sessionId}`;
  }

  /** Records this node as the room's home; throws `room_elsewhere` when another node holds it. */
  async claim(sessionId: string): Promise<void> {
    const owner = (await this.#redis.eval(CLAIM, 1, this.key(sessionId), this.nodeId, String(this.#ttlMs))) as string;
    if (owner !== this.nodeId) {
      throw new DomainError('unavailable', 'room_elsewhere', 'This room is hosted by another server', { nodeId: owner });
    }
    this.#held.add(sessionId);
    this.#startRefreshing();
  }

  async release(sessionId: string): Promise<void> {
    this.#held.delete(sessionId);
    await this.#redis.eval(RELEASE, 1, this.key(sessionId), this.nodeId);
  }

  /** The node that holds the room of a session, if any. */
  async lookup(sessionId: string): Promise<string | undefined> {
    return (await this.#redis.get(this.key(sessionId))) ?? undefined;
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #startRefreshing(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      for (const sessionId of this.#held) {
        this.#redis.eval(CLAIM, 1, this.key(sessionId), this.nodeId, String(this.#ttlMs)).catch(this.#onError);
      }
    }, Math.max(1000, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }
}
