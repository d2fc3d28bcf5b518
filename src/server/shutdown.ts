import type { FastifyInstance } from 'fastify';

export interface ShutdownLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/**
 * The one deadline of a shutdown (SHUTDOWN_TIMEOUT_MS). It starts when the
 * shutdown does; every step runs with what is left of it, so the steps
 * together never take longer than the deadline, however many there are. A
 * step still running when its time is up is logged and left behind: the next
 * steps run anyway. A reserve at the end is kept for the last step, closing
 * the database, so even a hung step leaves it time to close.
 */
export class ShutdownDeadline {
  readonly #totalMs: number;
  readonly #reserveMs: number;
  readonly #log: ShutdownLogger;
  #endsAt: number | undefined;

  constructor(totalMs: number, log: ShutdownLogger) {
    this.#totalMs = totalMs;
    this.#reserveMs = Math.min(1_000, Math.floor(totalMs / 5));
    this.#log = log;
  }

  /** Starts the clock (idempotent: the first call wins). */
  start(): void {
    this.#endsAt ??= performance.now() + this.#totalMs;
  }

  /** Milliseconds left for an ordinary step (the database's reserve excluded). */
  remaining(): number {
    this.start();
    return Math.max(0, this.#endsAt! - performance.now() - this.#reserveMs);
  }

  /** Runs a step with what is left of the deadline; true if it finished in time without failing. Never throws. */
  step(name: string, fn: () => Promise<unknown>): Promise<boolean> {
    return this.#within(name, fn, this.remaining());
  }

  /** The last step (closing the database): it may also use the reserve. */
  last(name: string, fn: () => Promise<unknown>): Promise<boolean> {
    this.start();
    return this.#within(name, fn, Math.max(0, this.#endsAt! - performance.now()));
  }

  async #within(name: string, fn: () => Promise<unknown>, budgetMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), budgetMs)));
    try {
      const outcome = await Promise.race([Promise.resolve().then(fn).then(() => 'done' as const), late]);
      if (outcome === 'late') this.#log.warn({ step: name, budgetMs: Math.round(budgetMs) }, 'shutdown step still running at the deadline; going on without it');
      return outcome === 'done';
    } catch (err) {
      this.#log.error({ err, step: name }, 'shutdown step failed');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Closes the app within its deadline (main.ts on SIGTERM/SIGINT). Every step
 * of buildApp's shutdown is bounded by the shared deadline; should a step that
 * is not (a capability's own onClose hook) hang past it, the database is
 * closed here anyway, and the caller exits. Resolves true for a clean close.
 */
export async function closeWithinDeadline(app: FastifyInstance, closeDb: () => Promise<void>): Promise<boolean> {
  const deadline = app.shutdown;
  deadline.start();
  const closed = await deadline.step('app', () => app.close());
  if (!closed) {
    app.log.error('shutdown deadline passed with a step still running; closing the database and exiting');
    // Within the reserve: PostgreSQL's pool.end() waits for checked-out clients, which the hung step may hold.
    await deadline.last('database', closeDb);
  }
  return closed;
}

/**
 * SIGTERM or SIGINT: first the drain (`drain`, when given: live rooms go on,
 * no new ones, until they end or its own deadline, ROOMS_DRAIN_DEADLINE_SECONDS),
 * then close within the one shutdown deadline (`after` runs with what is
 * left, e.g. stopping a private redis-server), then exit: 0 for a clean close,
 * 1 when a step had to be left behind. A second signal during the drain ends
 * the drain at once (the close follows, bounded as always); a third during the
 * close exits at once.
 */
export function exitOnSignals(
  app: FastifyInstance,
  closeDb: () => Promise<void>,
  after: () => Promise<void> = async () => undefined,
  drain?: (force: AbortSignal) => Promise<void>,
): void {
  let phase: 'running' | 'draining' | 'closing' = 'running';
  const force = new AbortController();
  const stop = async (signal: string) => {
    if (phase === 'draining') {
      app.log.warn({ signal }, 'second signal: ending the drain now');
      force.abort();
      return;
    }
    if (phase === 'closing') {
      if (force.signal.aborted) {
        app.log.error({ signal }, 'signal during a forced shutdown: exiting now');
        process.exit(1);
      }
      force.abort();
      return;
    }
    app.log.info({ signal }, drain ? 'draining, then shutting down' : 'shutting down');
    if (drain) {
      phase = 'draining';
      try {
        await drain(force.signal);
      } catch (err) {
        app.log.error({ err }, 'the drain failed; shutting down');
      }
    }
    phase = 'closing';
    const clean = await closeWithinDeadline(app, closeDb);
    await app.shutdown.step('after close', after);
    process.exit(clean ? 0 : 1);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}
