import type { Redis } from 'ioredis';

export type NodeState = 'serving' | 'draining';

/** What a node publishes about itself (LiveKit's node stats, trimmed to what placement and operators need). */
export interface NodeEntry {
  id: string;
  /** Public base URL of its signalling (where a client is sent to reach a room it owns). */
  url: string;
  /** The address its WebRtcServers announce in ICE candidates. */
  mediaAddress: string;
  state: NodeState;
  rooms: number;
  peers: number;
  consumers: number;
  /** Share of one core the mediasoup workers used since the last publication, summed over workers (0..workers). */
  workerCpu: number;
  /** Epoch milliseconds of the publication. */
  at: number;
}

export type NodeLoad = Pick<NodeEntry, 'rooms' | 'peers' | 'consumers' | 'workerCpu'>;

/** An entry older than this is stale: that node is not given new rooms (LiveKit: 5 s for a 2 s period). */
export const STALE_AFTER_MS = 5_000;

/**
 * The node registry in Redis: one hash `<prefix>:nodes` (field = node id,
 * value = JSON NodeEntry), refreshed by every node every `periodMs`. A node
 * is eligible for new rooms only while its entry is fresh and it is serving;
 * a dead node's entry goes stale by itself and is pruned by whoever reads it
 * long after.
 */
export class NodeRegistry {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #self: Omit<NodeEntry, keyof NodeLoad | 'at' | 'state'>;
  readonly #load: () => NodeLoad | Promise<NodeLoad>;
  readonly #onError: (err: unknown) => void;
  readonly #periodMs: number;
  #state: NodeState = 'serving';
  #timer: NodeJS.Timeout | undefined;
  #last: NodeEntry | undefined;
  #peerOrigins: readonly string[] = [];

  constructor(options: {
    redis: Redis;
    prefix: string;
    id: string;
    url: string;
    mediaAddress: string;
    load: () => NodeLoad | Promise<NodeLoad>;
    onError: (err: unknown) => void;
    periodMs?: number;
  }) {
    this.#redis = options.redis;
    this.#key = `${options.prefix}:nodes`;
    this.#self = { id: options.id, url: options.url, mediaAddress: options.mediaAddress };
    this.#load = options.load;
    this.#onError = options.onError;
    this.#periodMs = options.periodMs ?? 2_000;
  }

  get id(): string {
    return this.#self.id;
  }

  get state(): NodeState {
    return this.#state;
  }

  /** What this node last published. */
  get last(): NodeEntry | undefined {
    return this.#last;
  }

  start(): void {
    if (this.#timer) return;
    void this.publish();
    this.#timer = setInterval(() => void this.publish(), this.#periodMs);
    this.#timer.unref();
  }

  /** Turns this node `draining` (published at once): no new rooms are placed here. */
  async drain(): Promise<void> {
    this.#state = 'draining';
    await this.publish();
  }

  /**
   * The signalling origins of the deployment's fresh nodes (http and ws forms), as last read:
   * a page served by one node may be sent to a room on another one, and its
   * Content-Security-Policy must let it connect there. Refreshed at each publication.
   */
  get peerOrigins(): readonly string[] {
    return this.#peerOrigins;
  }

  /** Publishes this node's entry now (also every period). Never throws: a Redis outage only makes the entry stale. */
  async publish(): Promise<void> {
    try {
      const entry: NodeEntry = { ...this.#self, state: this.#state, ...(await this.#load()), at: Date.now() };
      this.#last = entry;
      await this.#redis.hset(this.#key, entry.id, JSON.stringify(entry));
      const now = Date.now();
      this.#peerOrigins = signallingOrigins((await this.all()).filter((e) => now - e.at <= STALE_AFTER_MS).map((e) => e.url));
    } catch (err) {
      this.#onError(err);
    }
  }

  /** Stops publishing and removes this node's entry (a clean exit). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#redis.hdel(this.#key, this.#self.id).catch(this.#onError);
  }

  /** Every entry in the registry, fresh or not (entries stale for a minute are pruned). */
  async all(): Promise<NodeEntry[]> {
    const raw = await this.#redis.hgetall(this.#key);
    const now = Date.now();
    const entries: NodeEntry[] = [];
    for (const [id, json] of Object.entries(raw)) {
      const entry = JSON.parse(json) as NodeEntry;
      if (now - entry.at > 60_000) void this.#redis.hdel(this.#key, id).catch(this.#onError);
      else entries.push(entry);
    }
    return entries;
  }

  /**
   * Nodes that may take new rooms: fresh and serving. This node counts as fresh while it serves, whatever
   * Redis holds: it is alive (it runs this), and a busy event loop can delay its publication past
   * STALE_AFTER_MS (seen under load: a lone node answered `no_node_available` to its own clients for 30 s).
   */
  async eligible(): Promise<NodeEntry[]> {
    const now = Date.now();
    const others = (await this.all()).filter((e) => e.id !== this.#self.id && e.state === 'serving' && now - e.at <= STALE_AFTER_MS);
    return this.#state === 'serving' && this.#last ? [{ ...this.#last, state: 'serving', at: now }, ...others] : others;
  }

  async get(id: string): Promise<NodeEntry | undefined> {
    const json = await this.#redis.hget(this.#key, id);
    return json ? (JSON.parse(json) as NodeEntry) : undefined;
  }
}

/**
 * `http(s)://host:port` and its WebSocket twin for each node URL (Socket.IO's client connects
 * with `ws(s)://`, which a CSP `http(s)://` source does not cover in every browser). URLs that
 * do not parse as http(s) are left out: the value goes into a response header.
 */
export function signallingOrigins(urls: readonly string[]): string[] {
  const origins = new Set<string>();
  for (const raw of urls) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') continue;
    origins.add(url.origin);
    origins.add(`${url.protocol === 'https:' ? 'wss' : 'ws'}://${url.host}`);
  }
  return [...origins];
}
