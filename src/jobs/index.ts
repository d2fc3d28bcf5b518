import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, type RedisLogger } from '../redis/index.ts';

export type { Job } from 'bullmq';
export { UnrecoverableError } from 'bullmq';

export type Processor<D> = (job: Job<D>) => Promise<unknown>;

/**
 * An error of the connection itself (Redis away), already reported once by
 * the connection (src/redis/index.ts: one warning when it drops, one line when
 * it is back): workers and queues repeat it at every reconnect attempt, so
 * they log it at debug only.
 */
export function isConnectionError(err: Error): boolean {
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|MaxRetriesPerRequest|Stream isn't writeable/i.test(
    `${(err as NodeJS.ErrnoException).code ?? ''} ${err.name} ${err.message}`,
  );
}

export interface JobQueue<D> {
  readonly name: string;
  /** Adds a job; the same jobId twice is one job (BullMQ dedupes on id). */
  add(data: D, options?: JobsOptions & { jobId?: string }): Promise<Job<D>>;
  /** Removes a pending (waiting or delayed) job; false if there was none. */
  remove(jobId: string): Promise<boolean>;
  get(jobId: string): Promise<Job<D> | undefined>;
  readonly queue: Queue<D>;
}

/**
 * The one place that owns BullMQ queues and workers. Capabilities `define` a
 * queue with its processor at start; `close` shuts workers (with a deadline,
 * since Worker.close has none), then queues, then the Redis connections.
 */
export class Jobs {
  readonly #url: string;
  readonly #prefix: string;
  readonly #logger: RedisLogger;
  readonly #runWorkers: boolean;
  readonly #queues = new Map<string, Queue>();
  readonly #workers: Worker[] = [];
  readonly #connections: Redis[] = [];
  #producerConnection: Redis | undefined;
  #closing: Promise<void> | undefined;
  /** Jobs running in this process, and who waits for there to be none. */
  #running = 0;
  readonly #idleWaiters: Array<() => void> = [];
  /** Job schedulers (repeating jobs) to put back in Redis when it returns without them. */
  readonly #schedulers: Array<() => Promise<unknown>> = [];

  constructor(options: { redisUrl: string; prefix: string; logger: RedisLogger; runWorkers?: boolean }) {
    this.#url = options.redisUrl;
    this.#prefix = `${options.prefix}:bull`;
    this.#logger = options.logger;
    this.#runWorkers = options.runWorkers ?? true;
  }

  define<D>(name: string, processor: Processor<D>, options: { concurrency?: number } = {}): JobQueue<D> {
    if (this.#queues.has(name)) throw new Error(`Queue ${name} is defined twice`);
    this.#producerConnection ??= this.#watchReturn(this.#track(createRedis(this.#url, 'producer', this.#logger, 'bullmq-producer')));
    const queue = new Queue<D>(name, {
      connection: this.#producerConnection,
      prefix: this.#prefix,
      defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000 },
    });
    queue.on('error', (err) => this.#logError(err, name, 'queue error'));
    this.#queues.set(name, queue as Queue);

    if (this.#runWorkers) {
      const worker = new Worker<D>(
        name,
        async (job) => {
          this.#running++;
          try {
            return await processor(job);
          } catch (err) {
            this.#logger.warn({ err: (err as Error).message, queue: name, jobId: job.id }, 'job failed');
            throw err;
          } finally {
            if (--this.#running === 0) for (const wake of this.#idleWaiters.splice(0)) wake();
          }
        },
        {
          connection: this.#track(createRedis(this.#url, 'worker', this.#logger, `bullmq-worker-${name}`)),
          prefix: this.#prefix,
          concurrency: options.concurrency ?? 4,
        },
      );
      worker.on('error', (err) => this.#logError(err, name, 'worker error'));
      this.#workers.push(worker as Worker);
    }

    return {
      name,
      queue,
      add: (data, opts) => queue.add(name as never, data as never, opts) as Promise<Job<D>>,
      remove: async (jobId) => {
        const job = await queue.getJob(jobId);
        if (!job) return false;
        const state = await job.getState();
        if (state !== 'delayed' && state !== 'waiting' && state !== 'prioritized') return false;
        await job.remove();
        return true;
      },
      get: async (jobId) => (await queue.getJob(jobId)) ?? undefined,
    };
  }

  /**
   * A repeating job: BullMQ's job scheduler `id` on the queue, every
   * `everyMs`. Upserted now, and again each time Redis comes back after an
   * outage: a Redis restarted without persistence (or a promoted replica
   * that lagged) has lost the schedulers, and no node would put them back
   * until it restarts. Upserting is idempotent (one scheduler per id, however
   * many nodes upsert it).
   */
  async every<D>(queue: JobQueue<D>, id: string, everyMs: number, data: D, opts: JobsOptions = {}): Promise<void> {
    const upsert = () => (queue.queue as Queue).upsertJobScheduler(id, { every: everyMs }, { name: queue.name, data, opts });
    this.#schedulers.push(upsert);
    await upsert();
  }

  /** On the producer connection's return after a drop: the job schedulers are put back. */
  #watchReturn(connection: Redis): Redis {
    let lost = false;
    connection.on('close', () => {
      lost = true;
    });
    connection.on('ready', () => {
      if (!lost || this.#closing) return;
      lost = false;
      void Promise.all(this.#schedulers.map((upsert) => upsert())).then(
        () => this.#schedulers.length > 0 && this.#logger.info({ schedulers: this.#schedulers.length }, 'redis is back: job schedulers re-asserted'),
        (err: Error) => this.#logger.warn({ err: err.message }, 'job schedulers not re-asserted after redis returned'),
      );
    });
    return connection;
  }

  #logError(err: Error, queue: string, msg: string): void {
    if (isConnectionError(err)) this.#logger.debug?.({ err: err.message, queue }, msg);
    else this.#logger.error({ err: err.message, queue }, msg);
  }

  #track(connection: Redis): Redis {
    this.#connections.push(connection);
    return connection;
  }

  /**
   * Closes within `budgetMs`: running jobs get most of it to finish, then the
   * workers close (forced if jobs still run), then queues and connections.
   * BullMQ's closes have no timeout of their own (a worker waits for its jobs,
   * a close waits for Redis): past the budget the rest goes on in the
   * background, so shutdown is not held up, and nothing is cut half-way (a
   * connection dropped under a closing worker would leave its blocking one
   * reconnecting). Running jobs are awaited here, not by a graceful
   * `close()`: Worker.close returns its first call's promise to every later
   * call, so a graceful close still waiting would make `close(true)` wait too
   * (and the lock renewal timer of a job that never ends would keep the
   * process alive); `pause()` races with a close that follows it.
   */
  close(budgetMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      const endsAt = performance.now() + budgetMs;
      const idle = this.#running === 0 ? Promise.resolve() : new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      const finished = await within(idle, budgetMs * 0.6);
      if (!finished) this.#logger.warn({ budgetMs, running: this.#running }, 'jobs still running at the shutdown deadline; forcing workers closed');
      const teardown = (async () => {
        await Promise.allSettled(this.#workers.map((w) => w.close(!finished)));
        await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
        await Promise.allSettled(this.#connections.map((c) => c.quit().catch(() => c.disconnect())));
      })();
      if (!(await within(teardown, Math.max(0, endsAt - performance.now())))) {
        this.#logger.warn({ budgetMs }, 'job queues still closing at the shutdown deadline; finishing in the background');
      }
    })();
    return this.#closing;
  }
}

/** Waits for `promise` at most `ms`; true if it settled in time. */
async function within(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
