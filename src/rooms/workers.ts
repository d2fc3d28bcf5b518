import { EventEmitter } from 'node:events';
import * as mediasoup from 'mediasoup';
import type { types } from 'mediasoup';
import type { FastifyBaseLogger } from 'fastify';
import { DomainError } from '../shared/errors.ts';

export interface WorkerPoolOptions {
  /** Number of workers (one per core in production). */
  count: number;
  listenIp: string;
  announcedAddress: string | undefined;
  /** Worker i's WebRtcServer listens on port + i (UDP and TCP); 0 = free ports chosen by the system. */
  port: number;
  logLevel: types.WorkerLogLevel;
  logger: FastifyBaseLogger;
}

/** A live slot: one worker process and its WebRtcServer. */
export interface WorkerSlot {
  index: number;
  worker: types.Worker;
  webRtcServer: types.WebRtcServer;
  /** Routers currently placed on this worker (the load measure). */
  routers: number;
}

export interface PlacedRouter {
  router: types.Router;
  webRtcServer: types.WebRtcServer;
  /** Index of the worker slot the router lives on. */
  slot: number;
}

const REPLACE_BACKOFF_MS = [0, 250, 1000, 2000, 5000];
const WAIT_FOR_WORKER_MS = 15_000;

/**
 * The mediasoup worker processes of this server: one per slot, each with a
 * WebRtcServer so every worker listens on one UDP and one TCP port. Routers
 * go to the least loaded live worker. A worker that dies is replaced in the
 * same slot (same port); rooms learn about it through their router's
 * `workerclose` and ask for a new router, which waits for a live worker.
 *
 * Events: 'workerdied' (slot index, pid), 'workerreplaced' (slot index, pid).
 */
export class WorkerPool extends EventEmitter {
  readonly #options: WorkerPoolOptions;
  readonly #slots: Array<WorkerSlot | undefined>;
  #closed = false;
  readonly #waiters = new Set<() => void>();

  private constructor(options: WorkerPoolOptions) {
    super();
    this.#options = options;
    this.#slots = new Array(options.count).fill(undefined);
  }

  static async create(options: WorkerPoolOptions): Promise<WorkerPool> {
    const pool = new WorkerPool(options);
    try {
      for (let i = 0; i < options.count; i++) await pool.#startSlot(i);
    } catch (err) {
      pool.close();
      throw err;
    }
    return pool;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Last CPU time sample per worker pid: [cpu ms, wall ms]. */
  readonly #cpuSamples = new Map<number, [number, number]>();
  #lastCpu = 0;

  /**
   * CPU used by the workers since the previous call, in cores (1 = one core
   * busy), summed over workers: the node registry's worker-CPU figure.
   */
  async sampleCpu(): Promise<number> {
    let total = 0;
    const now = performance.now();
    for (const slot of this.slots()) {
      try {
        const usage = await slot.worker.getResourceUsage();
        const cpuMs = usage.ru_utime + usage.ru_stime;
        const prev = this.#cpuSamples.get(slot.worker.pid);
        this.#cpuSamples.set(slot.worker.pid, [cpuMs, now]);
        if (prev && now > prev[1]) total += (cpuMs - prev[0]) / (now - prev[1]);
      } catch {
        // A worker closing while sampled: it counts as idle.
      }
    }
    this.#lastCpu = Math.max(0, total);
    return this.#lastCpu;
  }

  /** The last sampled worker CPU (cores). */
  get lastCpu(): number {
    return this.#lastCpu;
  }

  /** The live slots (for stats, tests and ops). */
  slots(): WorkerSlot[] {
    return this.#slots.filter((s): s is WorkerSlot => s !== undefined && !s.worker.closed);
  }

  /** A new router on the least loaded live worker (waits for a replacement if none is alive). */
  async createRouter(mediaCodecs: types.RouterRtpCodecCapability[], appData: Record<string, unknown> = {}): Promise<PlacedRouter> {
    const slot = await this.#leastLoaded();
    const router = await slot.worker.createRouter({ mediaCodecs, appData });
    slot.routers++;
    router.observer.once('close', () => {
      slot.routers--;
    });
    return { router, webRtcServer: slot.webRtcServer, slot: slot.index };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of [...this.#waiters]) wake();
    for (const slot of this.#slots) {
      try {
        slot?.worker.close();
      } catch (err) {
        this.#options.logger.error({ err }, 'closing a mediasoup worker failed');
      }
    }
  }

  async #leastLoaded(): Promise<WorkerSlot> {
    const deadline = Date.now() + WAIT_FOR_WORKER_MS;
    for (;;) {
      if (this.#closed) throw new DomainError('unavailable', 'server_draining', 'The media server is shutting down');
      const live = this.slots();
      if (live.length > 0) return live.reduce((best, s) => (s.routers < best.routers ? s : best));
      const left = deadline - Date.now();
      if (left <= 0) throw new DomainError('unavailable', 'media_unavailable', 'No media worker is available');
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  async #startSlot(index: number): Promise<WorkerSlot> {
    const { listenIp, announcedAddress, port, logLevel, logger } = this.#options;
    const before = new Set([...process.listeners('SIGINT'), ...process.listeners('SIGTERM')]);
    const worker = await mediasoup.createWorker({ logLevel, appData: { slot: index } });
    // mediasoup (since 3.19.22) closes each worker by itself on SIGINT/SIGTERM. The server's shutdown
    // closes workers last, after rooms and recorders have finished their files, so those listeners go.
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const listener of process.listeners(signal)) if (!before.has(listener) && listener.name === 'onSignal') process.removeListener(signal, listener);
    }
    try {
      const listen = (protocol: 'udp' | 'tcp'): types.TransportListenInfo => ({
        protocol,
        ip: listenIp,
        ...(announcedAddress ? { announcedAddress } : {}),
        ...(port > 0 ? { port: port + index } : {}),
      });
      const webRtcServer = await worker.createWebRtcServer({ listenInfos: [listen('udp'), listen('tcp')] });
      const slot: WorkerSlot = { index, worker, webRtcServer, routers: 0 };
      this.#slots[index] = slot;
      worker.on('died', (err) => {
        logger.error({ err, pid: worker.pid, slot: index }, 'mediasoup worker died; replacing it');
        this.emit('workerdied', index, worker.pid);
        void this.#replace(index);
      });
      logger.info({ pid: worker.pid, slot: index }, 'mediasoup worker started');
      for (const wake of [...this.#waiters]) wake();
      return slot;
    } catch (err) {
      worker.close();
      throw err;
    }
  }

  async #replace(index: number): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      const delay = REPLACE_BACKOFF_MS[Math.min(attempt, REPLACE_BACKOFF_MS.length - 1)]!;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay).unref());
      if (this.#closed) return;
      try {
        const slot = await this.#startSlot(index);
        if (this.#closed) {
          slot.worker.close();
          return;
        }
        this.emit('workerreplaced', index, slot.worker.pid);
        return;
      } catch (err) {
        this.#options.logger.error({ err, slot: index, attempt }, 'starting a replacement mediasoup worker failed');
      }
    }
  }
}
