import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, type RedisLogger } from '../redis/index.ts';

export type { Job } from 'bullmq';
export { UnrecoverableError } from 'bullmq';

export type Processor<D> = (job: Job<D>) => Promise<unknown>;

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

  constructor(options: { redisUrl: string; prefix: string; logger: RedisLogger; runWorkers?: boolean }) {
    this.#url = options.redisUrl;
    this.#prefix = `${options.prefix}:bull`;
    this.#logger = options.logger;
    this.#runWorkers = options.runWorkers ?? true;
  }

  define<D>(name: string, processor: Processor<D>, options: { concurrency?: number } = {}): JobQueue<D> {
    if (this.#queues.has(name)) throw new Error(`Queue ${name} is defined twice`);
    this.#producerConnection ??= this.#track(createRedis(this.#url, 'producer', this.#logger, 'bullmq-producer'));
    const queue = new Queue<D>(name, {
      connection: this.#producerConnection,
      prefix: this.#prefix,
      defaultJobOptions: { removeOnComplete: 1000, removeOnFail: 5000 },
    });
    queue.on('error', (err) => this.#logger.error({ err: err.message, queue: name }, 'queue error'));
    this.#queues.set(name, queue as Queue);

    if (this.#runWorkers) {
      const worker = new Worker<D>(
        name,
        async (job) => {
          try {
            return await processor(job);
          } catch (err) {
            this.#logger.warn({ err: (err as Error).message, queue: name, jobId: job.id }, 'job failed');
            throw err;
          }
        },
        {
          connection: this.#track(createRedis(this.#url, 'worker', this.#logger, `bullmq-worker-${name}`)),
          prefix: this.#prefix,
          concurrency: options.concurrency ?? 4,
        },
      );
      worker.on('error', (err) => this.#logger.error({ err: err.message, queue: name }, 'worker error'));
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

  #track(connection: Redis): Redis {
    this.#connections.push(connection);
    return connection;
  }

  close(deadlineMs = 10_000): Promise<void> {
    this.#closing ??= (async () => {
      const workersClosed = Promise.allSettled(this.#workers.map((w) => w.close()));
      const timedOut = await Promise.race([
        workersClosed.then(() => false),
        new Promise<boolean>((r) => setTimeout(() => r(true), deadlineMs).unref()),
      ]);
      if (timedOut) {
        this.#logger.warn({ deadlineMs }, 'jobs still running at shutdown deadline; forcing workers closed');
        await Promise.allSettled(this.#workers.map((w) => w.close(true)));
      }
      await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
      await Promise.allSettled(this.#connections.map((c) => c.quit().catch(() => c.disconnect())));
    })();
    return this.#closing;
  }
}
