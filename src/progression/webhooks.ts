import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Queryable } from '../db/index.ts';
import { DURABLE_EVENTS } from '../events/index.ts';
import type { OutboxEvent } from '../outbox/index.ts';
import { UnrecoverableError, type Job, type JobQueue } from '../jobs/index.ts';
import { invalid, notFound } from '../shared/errors.ts';
import { audit } from './audit.ts';
import { guardedPost, isForbiddenAddress, literalHost, type EgressAllow } from './egress.ts';

/** The events a subscription may ask for. */
export const WEBHOOK_EVENTS = DURABLE_EVENTS;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const SIGNATURE_HEADER = 'x-webhook-signature';
export const TIMESTAMP_HEADER = 'x-webhook-timestamp';
export const EVENT_HEADER = 'x-webhook-event';
export const DELIVERY_HEADER = 'x-webhook-delivery';
/** The outbox event's id: the same on every delivery of one event to every subscription. */
export const EVENT_ID_HEADER = 'x-webhook-event-id';

/**
 * Signature of a delivery: HMAC-SHA256 (hex) of `${timestamp}.${body}` with
 * the subscription's secret, sent as `x-webhook-signature: v1=<hex>` next to
 * `x-webhook-timestamp` (Unix seconds). A receiver recomputes it over the raw
 * body and refuses old timestamps (replays).
 */
export function signPayload(secret: string, timestamp: number, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Receiver side, for the school's other systems (and the tests). */
export function verifySignature(secret: string, timestamp: string | number, body: string, signature: string, now = Date.now(), toleranceSeconds = 300): boolean {
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(now / 1000 - ts) > toleranceSeconds) return false;
  const expected = Buffer.from(signPayload(secret, ts, body));
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export interface Subscription {
  id: string;
  url: string;
  events: WebhookEvent[];
  description: string;
  active: boolean;
  createdAt: Date;
}

const SUB_COLUMNS = `id, url, events, description, active, created_at AS "createdAt"`;

/** Refuses a URL whose host is a literal forbidden IP (names are checked again at connect time). */
function assertAllowedDestination(url: URL, allow: EgressAllow | undefined): void {
  if (!allow || allow.hosts.has(url.hostname.toLowerCase())) return;
  const ip = literalHost(url);
  if (ip && isForbiddenAddress(ip, allow)) throw invalid('webhook_destination_forbidden', 'The webhook URL points to a loopback, private or link-local address');
}

export async function createSubscription(
  q: Queryable,
  input: { url: string; events: string[]; description?: string | undefined; secret?: string | undefined },
  actorId: string,
  now: Date,
  allow?: EgressAllow,
): Promise<Subscription & { secret: string }> {
  let parsed: URL;
  try {
    parsed = new URL(input.url);
  } catch {
    throw invalid('invalid_url', 'The webhook URL is not a URL');
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw invalid('invalid_url', 'The webhook URL must be http or https');
  assertAllowedDestination(parsed, allow);
  const unknown = input.events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
  if (unknown.length > 0) throw invalid('unknown_event', `Unknown event(s): ${unknown.join(', ')}`, { allowed: [...WEBHOOK_EVENTS] });
  const secret = input.secret ?? `whsec_${randomBytes(24).toString('base64url')}`;
  const row = await q.one<Subscription>(
    `INSERT INTO webhook_subscriptions (url, secret, events, description, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${SUB_COLUMNS}`,
    [input.url, secret, [...new Set(input.events)], input.description ?? '', actorId, now],
  );
  await audit(q, { entity: 'webhook_subscription', entityId: row!.id, action: 'created', to: 'active', actorId, data: { url: input.url, events: input.events }, at: now });
  return { ...row!, secret };
}

export async function listSubscriptions(q: Queryable): Promise<Subscription[]> {
  return q.query<Subscription>(`SELECT ${SUB_COLUMNS} FROM webhook_subscriptions ORDER BY created_at`);
}

export async function updateSubscription(
  q: Queryable,
  id: string,
  patch: { events?: string[] | undefined; active?: boolean | undefined; url?: string | undefined },
  actorId: string,
  now: Date,
  allow?: EgressAllow,
): Promise<Subscription> {
  if (patch.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(patch.url);
    } catch {
      throw invalid('invalid_url', 'The webhook URL is not a URL');
    }
    assertAllowedDestination(parsed, allow);
  }
  if (patch.events) {
    const unknown = patch.events.filter((e) => !(WEBHOOK_EVENTS as readonly string[]).includes(e));
    if (unknown.length > 0) throw invalid('unknown_event', `Unknown event(s): ${unknown.join(', ')}`);
  }
  const row = await q.one<Subscription>(
    `UPDATE webhook_subscriptions SET events = COALESCE($2, events), active = COALESCE($3, active), url = COALESCE($4, url) WHERE id = $1 RETURNING ${SUB_COLUMNS}`,
    [id, patch.events ? [...new Set(patch.events)] : null, patch.active ?? null, patch.url ?? null],
  );
  if (!row) throw notFound('subscription_not_found', 'No such webhook subscription');
  await audit(q, { entity: 'webhook_subscription', entityId: id, action: 'updated', to: row.active ? 'active' : 'inactive', actorId, data: patch, at: now });
  return row;
}

export async function deleteSubscription(q: Queryable, id: string, actorId: string, now: Date): Promise<void> {
  const n = await q.execute('DELETE FROM webhook_subscriptions WHERE id = $1', [id]);
  if (n === 0) throw notFound('subscription_not_found', 'No such webhook subscription');
  await audit(q, { entity: 'webhook_subscription', entityId: id, action: 'deleted', from: 'active', to: 'deleted', actorId, at: now });
}

export interface DeliveryView {
  id: string;
  subscriptionId: string;
  event: string;
  payload: unknown;
  status: 'pending' | 'retrying' | 'delivered' | 'dead_letter';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  deadAt: Date | null;
  log: Array<{ attempt: number; statusCode: number | null; error: string | null; durationMs: number; at: Date }>;
}

export async function deliveriesOf(q: Queryable, subscriptionId: string, status?: string): Promise<DeliveryView[]> {
  const rows = await q.query<Omit<DeliveryView, 'log'>>(
    `SELECT id, subscription_id AS "subscriptionId", event, payload, status, attempts, last_status_code AS "lastStatusCode",
            last_error AS "lastError", created_at AS "createdAt", delivered_at AS "deliveredAt", dead_at AS "deadAt"
       FROM webhook_deliveries WHERE subscription_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY created_at, id`,
    [subscriptionId, status ?? null],
  );
  const log = await q.query<DeliveryView['log'][number] & { deliveryId: string }>(
    `SELECT a.delivery_id AS "deliveryId", a.attempt, a.status_code AS "statusCode", a.error, a.duration_ms AS "durationMs", a.at
       FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id
      WHERE d.subscription_id = $1 ORDER BY a.attempt`,
    [subscriptionId],
  );
  return rows.map((r) => ({ ...r, log: log.filter((l) => l.deliveryId === r.id).map(({ deliveryId: _d, ...l }) => l) }));
}

interface DeliveryJob {
  deliveryId: string;
}

/**
 * Webhooks for the school's other systems: each outbox event a subscription
 * asks for becomes a delivery row (the delivery log) and a BullMQ job that
 * POSTs the signed JSON, retried with exponential backoff; after
 * WEBHOOK_MAX_ATTEMPTS failures the delivery is dead-lettered. Every request
 * carries the event's stable id (`x-webhook-event-id`): a receiver that keeps
 * the ids it has seen gets each event once, even when a crash between its
 * answer and our record of it makes us send again.
 */
export class Webhooks {
  readonly #app: FastifyInstance;
  readonly #queue: JobQueue<DeliveryJob>;

  constructor(app: FastifyInstance) {
    this.#app = app;
    this.#queue = app.jobs.define<DeliveryJob>('webhook-delivery', (job) => this.#deliver(job), { concurrency: 8 });
    for (const event of WEBHOOK_EVENTS) {
      app.outbox.handle(event, 'webhooks', (e) => this.dispatch(e).then(() => undefined));
    }
  }

  /**
   * Creates one delivery per active subscription to the event and queues it.
   * Idempotent: the relay may run it twice for one event; the second run finds
   * the deliveries (one per event and subscription) and queues nothing new.
   */
  async dispatch<K extends WebhookEvent>(event: OutboxEvent<K>): Promise<string[]> {
    const { db, clock } = this.#app;
    const subs = await db.query<{ id: string }>('SELECT id FROM webhook_subscriptions WHERE active AND $1 = ANY(events)', [event.name]);
    const ids: string[] = [];
    for (const sub of subs) {
      const id = randomUUID();
      const payload = { id, eventId: event.id, event: event.name, occurredAt: event.occurredAt.toISOString(), data: event.payload };
      const created = await db.one<{ id: string }>(
        `INSERT INTO webhook_deliveries (id, event_id, subscription_id, event, payload, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (event_id, subscription_id) DO NOTHING RETURNING id`,
        [id, event.id, sub.id, event.name, JSON.stringify(payload), clock.now()],
      );
      if (!created) continue; // delivered (or being delivered) by an earlier run
      await this.#enqueue(id);
      ids.push(id);
    }
    return ids;
  }

  async #enqueue(deliveryId: string, suffix = ''): Promise<void> {
    const { webhookMaxAttempts, webhookBackoffMs } = this.#app.config.progression;
    await this.#queue.add(
      { deliveryId },
      { jobId: `${deliveryId}${suffix}`, attempts: webhookMaxAttempts, backoff: { type: 'exponential', delay: webhookBackoffMs } },
    );
  }

  /** Sends a dead-lettered delivery again, with a fresh set of attempts. */
  async redeliver(deliveryId: string): Promise<void> {
    const row = await this.#app.db.one<{ status: string }>('SELECT status FROM webhook_deliveries WHERE id = $1', [deliveryId]);
    if (!row) throw notFound('delivery_not_found', 'No such delivery');
    if (row.status !== 'dead_letter') throw invalid('delivery_not_dead', 'Only a dead-lettered delivery is sent again');
    await this.#app.db.execute(`UPDATE webhook_deliveries SET status = 'retrying', dead_at = NULL, retry_base = attempts WHERE id = $1`, [deliveryId]);
    await this.#enqueue(deliveryId, `-r${Date.now()}`);
  }

  async #deliver(job: Job<DeliveryJob>): Promise<unknown> {
    const { db, clock, config } = this.#app;
    const d = await db.one<{ id: string; eventId: string | null; event: string; payload: unknown; status: string; attempts: number; retryBase: number; url: string; secret: string }>(
      `SELECT d.id, d.event_id AS "eventId", d.event, d.payload, d.status, d.attempts, d.retry_base AS "retryBase", s.url, s.secret
         FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.id = $1`,
      [job.data.deliveryId],
    );
    if (!d) throw new UnrecoverableError('delivery or subscription gone');
    if (d.status === 'delivered') return { already: true };
    const attempt = d.attempts + 1;
    const body = JSON.stringify(d.payload);
    const timestamp = Math.floor(clock.now().getTime() / 1000);
    const started = performance.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const res = await guardedPost(
        d.url,
        {
          headers: {
            'content-type': 'application/json',
            'user-agent': 'mentor-live-webhooks/1',
            [EVENT_HEADER]: d.event,
            [DELIVERY_HEADER]: d.id,
            [EVENT_ID_HEADER]: d.eventId ?? d.id,
            [TIMESTAMP_HEADER]: String(timestamp),
            [SIGNATURE_HEADER]: signPayload(d.secret, timestamp, body),
          },
          body,
          timeoutMs: config.progression.webhookTimeoutMs,
        },
        config.progression.webhookAllow,
      );
      statusCode = res.status;
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).message || String(err);
    }
    const durationMs = Math.round(performance.now() - started);
    const now = clock.now();
    const dead = error !== null && attempt - d.retryBase >= config.progression.webhookMaxAttempts;
    const status = error === null ? 'delivered' : dead ? 'dead_letter' : 'retrying';
    await db.tx(async (q) => {
      await q.execute('INSERT INTO webhook_delivery_attempts (delivery_id, attempt, status_code, error, duration_ms, at) VALUES ($1, $2, $3, $4, $5, $6)', [
        d.id,
        attempt,
        statusCode,
        error,
        durationMs,
        now,
      ]);
      await q.execute(
        `UPDATE webhook_deliveries SET attempts = $2, status = $3, last_status_code = $4, last_error = $5,
                delivered_at = CASE WHEN $3 = 'delivered' THEN $6::timestamptz ELSE delivered_at END,
                dead_at = CASE WHEN $3 = 'dead_letter' THEN $6::timestamptz ELSE dead_at END
          WHERE id = $1`,
        [d.id, attempt, status, statusCode, error, now],
      );
    });
    if (dead) {
      this.#app.log.warn({ deliveryId: d.id, event: d.event, attempts: attempt }, 'webhook delivery dead-lettered');
      throw new UnrecoverableError(`dead-lettered after ${attempt} attempts: ${error}`);
    }
    if (error !== null) throw new Error(`webhook delivery failed: ${error}`);
    return { statusCode };
  }
}
