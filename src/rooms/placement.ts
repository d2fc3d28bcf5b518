import type { Redis } from 'ioredis';
import { DomainError } from '../shared/errors.ts';
import type { RoomDirectory } from './directory.ts';
import { STALE_AFTER_MS, type NodeEntry, type NodeRegistry } from './registry.ts';

/** A placement decided but whose room is not created yet holds its node for this long. */
const PLACEMENT_TTL_MS = 10_000;
/** Recent placements count as load for this long (Jicofo's "corrected stress": stats lag behind a burst). */
const PENDING_WINDOW_MS = 10_000;

/**
 * Records a placement for a room nobody placed yet (set-if-absent, so two
 * nodes placing one room at once agree on the first choice) and counts it as
 * pending load on the chosen node. Returns the node the room is placed on.
 */
const PLACE = `
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[3] - ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return ARGV[1]`;

/**
 * How loaded a node is (lower = more headroom): rooms (with placements in
 * flight), then their media (consumers). Worker CPU breaks ties: a sample of
 * a few seconds is too noisy to outweigh a room.
 */
export function loadScore(entry: Pick<NodeEntry, 'rooms' | 'consumers'>, pending: number): number {
  return entry.rooms + pending + entry.consumers / 100;
}

export type Placement = { kind: 'here'; epoch?: undefined } | { kind: 'elsewhere'; node: NodeEntry };

/**
 * Where a session's room lives or goes: the lease holder if the room is open
 * somewhere; otherwise the eligible node (fresh, serving) with the most
 * headroom, placements in flight counted as load.
 */
export class RoomPlacement {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #registry: NodeRegistry;
  readonly #directory: RoomDirectory;
  /** Placements made by this node (a metric). */
  placements = 0;

  constructor(redis: Redis, prefix: string, registry: NodeRegistry, directory: RoomDirectory) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#registry = registry;
    this.#directory = directory;
  }

  #pendingKey(nodeId: string): string {
    return `${this.#prefix}:placed:${nodeId}`;
  }

  /** Placements in flight per node id (the last PENDING_WINDOW_MS). */
  async pending(nodeIds: string[]): Promise<Map<string, number>> {
    const since = Date.now() - PENDING_WINDOW_MS;
    const pipe = this.#redis.pipeline();
    for (const id of nodeIds) pipe.zcount(this.#pendingKey(id), since, '+inf');
    const results = (await pipe.exec()) ?? [];
    return new Map(nodeIds.map((id, i) => [id, Number(results[i]?.[1] ?? 0)]));
  }

  /** The node with the most headroom among eligible ones (ties: this node first, then the least worker CPU, then the lowest id). */
  async choose(): Promise<NodeEntry | undefined> {
    const nodes = await this.#registry.eligible();
    if (nodes.length === 0) return undefined;
    const pending = await this.pending(nodes.map((n) => n.id));
    const self = this.#registry.id;
    const scored = nodes.map((n) => ({ n, score: loadScore(n, pending.get(n.id) ?? 0) }));
    scored.sort((a, b) => a.score - b.score || Number(b.n.id === self) - Number(a.n.id === self) || a.n.workerCpu - b.n.workerCpu || a.n.id.localeCompare(b.n.id));
    return scored[0]!.n;
  }

  /**
   * Where the session's room is: here (this node may create it and claim its
   * lease), or elsewhere (the join answer names that node). `room_moving`
   * when its owner stopped publishing (dead or cut off): its lease lapses
   * within the lease time and the room is placed anew. Also \`room_moving\`
   * for a room with no lease while this node settles after a Redis outage
   * (RoomDirectory.redisReturned): its owner may not have re-asserted it yet.
   */
  async place(sessionId: string): Promise<Placement> {
    const self = this.#registry.id;
    const lease = await this.#directory.lookup(sessionId);
    if (lease) {
      if (lease.nodeId === self) return { kind: 'here' };
      const owner = await this.#registry.get(lease.nodeId);
      if (!owner || Date.now() - owner.at > STALE_AFTER_MS) {
        throw new DomainError('unavailable', 'room_moving', 'This room is moving to another server; join again in a moment', { retryAfterMs: 2_000 });
      }
      // A draining owner keeps its live rooms until they end or its deadline: clients still go there.
      return { kind: 'elsewhere', node: owner };
    }
    // Just after a Redis outage the room may be live on a node that has not re-asserted its lease yet.
    const settling = this.#directory.settlingMs();
    if (settling > 0) {
      throw new DomainError('unavailable', 'room_moving', 'This room is moving to another server; join again in a moment', { retryAfterMs: Math.min(settling, 2_000) });
    }
    const placedKey = `${this.#prefix}:placing:${sessionId}`;
    const already = await this.#redis.get(placedKey);
    if (already) {
      const node = already === self ? undefined : await this.#registry.get(already);
      if (already === self && this.#registry.state === 'serving') return { kind: 'here' };
      if (node && node.state === 'serving' && Date.now() - node.at <= STALE_AFTER_MS) return { kind: 'elsewhere', node };
      // The chosen node went away or started draining before the room was made: place again.
      await this.#redis.del(placedKey);
    }
    const chosen = await this.choose();
    if (!chosen) throw new DomainError('unavailable', 'no_node_available', 'No server can take a new room right now');
    const now = Date.now();
    const winner = (await this.#redis.eval(PLACE, 2, placedKey, this.#pendingKey(chosen.id), chosen.id, String(PLACEMENT_TTL_MS), String(now), sessionId, String(PENDING_WINDOW_MS))) as string;
    if (winner === chosen.id) this.placements++;
    if (winner === self) return { kind: 'here' };
    const node = winner === chosen.id ? chosen : await this.#registry.get(winner);
    if (!node) throw new DomainError('unavailable', 'room_moving', 'This room is moving to another server; join again in a moment', { retryAfterMs: 1_000 });
    return { kind: 'elsewhere', node };
  }
}
