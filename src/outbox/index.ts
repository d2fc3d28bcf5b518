import { randomUUID } from 'node:crypto';
import type { Db, Queryable } from '../db/index.ts';
import type { DomainEventMap, DomainEvents, DurableEventName } from '../events/index.ts';
import type { JobQueue, Jobs } from '../jobs/index.ts';
import type { Clock } from '../shared/clock.ts';

export { DURABLE_EVENTS, type DurableEventName } from '../events/index.ts';

/** One event as the relay hands it to a handler. */
export interface OutboxEvent<K extends DurableEventName = DurableEventName> {
  /** Stable: the same on every delivery of this event, so receivers dedupe on it. */
  id: string;
  name: K;
  payload: DomainEventMap[K];
  occurredAt: Date;
}

/**
 * Reacts to one event. It may run more than once for the same event (a crash
 * after it ran but before the relay noted it): it must be idempotent, keyed
 * on `event.id` (webhook deliveries and notifications are).
 */
export type OutboxHandler<K extends DurableEventName> = (event: OutboxEvent<K>) => Promise<void>;

export const OUTBOX_RELAY_QUEUE = 'outbox-relay';
const SWEEP_SCHEDULER = 'outbox-sweep';
const BATCH = 100;

interface OutboxLogger {
  warn(obj: object, msg: string): void;
}

interface OutboxRow {
  id: string;
  seq: string;
  event: DurableEventName;
  payload: never;
  occurredAt: Date;
}

/**
 * Durable domain events (the transactional outbox pattern). A capability
 * appends an event inside the transaction of the change it announces:
 *
 *   await db.tx(async (q) => { …change…; await outbox.append(q, 'session.cancelled', { … }); });
 *
 * so the event exists if and only if the change does (no `events.emit` beside it). After the commit, a
 * BullMQ job (the relay) reads the undelivered events in commit order, runs
 * every handler registered for each (`handle`, at plugin registration), notes
 * each handler that succeeded, and marks the event delivered once all have.
 * A crash anywhere loses nothing: the relay runs again at start and every
 * `sweepEveryMs` (also the retry of a handler that failed). Delivery is at
 * least once; handlers make it once by keying on the event id.
 */
export class Outbox {
  readonly #db: Db;
  readonly #events: DomainEvents;
  readonly #clock: Clock;
  readonly #log: OutboxLogger;
  readonly #queue: JobQueue<Record<string, never>>;
  readonly #jobs: Jobs;
  readonly #sweepEveryMs: number;
  readonly #handlers = new Map<DurableEventName, Map<string, OutboxHandler<never>>>();

  constructor(deps: { db: Db; jobs: Jobs; events: DomainEvents; clock: Clock; log: OutboxLogger; sweepEveryMs?: number }) {
    this.#db = deps.db;
    this.#events = deps.events;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#jobs = deps.jobs;
    this.#sweepEveryMs = deps.sweepEveryMs ?? 30_000;
    // One relay at a time per process; several processes may relay at once (handlers are idempotent).
    this.#queue = deps.jobs.define(OUTBOX_RELAY_QUEUE, () => this.relay(), { concurrency: 1 });
  }

  /**
   * Appends an event in the caller's transaction (or on its own if `q` is the
   * Db); returns its id. Once committed, the relay is woken and the event is
   * also emitted on the in-process bus (app.events) for this process's
   * listeners: one call announces a durable event everywhere.
   */
  async append<K extends DurableEventName>(q: Queryable, name: K, payload: DomainEventMap[K]): Promise<string> {
    const id = randomUUID();
    await q.execute('INSERT INTO outbox (id, event, payload, occurred_at) VALUES ($1, $2, $3, $4)', [id, name, JSON.stringify(payload), this.#clock.now()]);
    q.afterCommit(() => {
      this.kick();
      this.#events.emit(name, payload);
    });
    return id;
  }

  /** Registers `handler` (a name unique per event, noted per delivered event) for `name`. */
  handle<K extends DurableEventName>(name: K, handler: string, fn: OutboxHandler<K>): void {
    let handlers = this.#handlers.get(name);
    if (!handlers) this.#handlers.set(name, (handlers = new Map()));
    if (handlers.has(handler)) throw new Error(`Outbox handler ${handler} of ${name} is registered twice`);
    handlers.set(handler, fn as OutboxHandler<never>);
  }

  /** Wakes the relay. Never throws: a wake-up lost (Redis away) is made up by the sweep. */
  kick(): void {
    this.#queue.add({}, { removeOnComplete: true, removeOnFail: true }).catch((err: Error) => {
      this.#log.warn({ err: err.message }, 'outbox relay not woken; the sweep will deliver');
    });
  }

  /** At start: the periodic sweep, and a relay pass for whatever a previous process left undelivered. */
  async start(): Promise<void> {
    await this.#jobs.every(this.#queue, SWEEP_SCHEDULER, this.#sweepEveryMs, {}, { removeOnComplete: true, removeOnFail: true });
    this.kick();
  }

  /** One relay pass over every undelivered event, in commit order. */
  async relay(): Promise<{ delivered: number; failed: number }> {
    let delivered = 0;
    let failed = 0;
    let after = '0';
    for (;;) {
      const rows = await this.#db.query<OutboxRow>(
        `SELECT id, seq, event, payload, occurred_at AS "occurredAt" FROM outbox
          WHERE delivered_at IS NULL AND seq > $1 ORDER BY seq LIMIT ${BATCH}`,
        [after],
      );
      for (const row of rows) {
        after = row.seq;
        if (await this.#deliver(row)) delivered++;
        else failed++;
      }
      if (rows.length < BATCH) return { delivered, failed };
    }
  }

  async #deliver(row: OutboxRow): Promise<boolean> {
    const handlers = this.#handlers.get(row.event) ?? new Map<string, OutboxHandler<never>>();
    const done = new Set(
      (await this.#db.query<{ handler: string }>('SELECT handler FROM outbox_handled WHERE event_id = $1', [row.id])).map((r) => r.handler),
    );
    const errors: string[] = [];
    for (const [handler, fn] of handlers) {
      if (done.has(handler)) continue;
      try {
        await fn({ id: row.id, name: row.event, payload: row.payload, occurredAt: row.occurredAt } as never);
        await this.#db.execute('INSERT INTO outbox_handled (event_id, handler, handled_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
          row.id,
          handler,
          this.#clock.now(),
        ]);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        errors.push(`${handler}: ${message}`);
        this.#log.warn({ err: message, eventId: row.id, event: row.event, handler }, 'outbox handler failed; retried at the next sweep');
      }
    }
    if (errors.length === 0) {
      await this.#db.execute('UPDATE outbox SET delivered_at = $2 WHERE id = $1', [row.id, this.#clock.now()]);
      return true;
    }
    await this.#db.execute('UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1', [row.id, errors.join('; ')]);
    return false;
  }
}
