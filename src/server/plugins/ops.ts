import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** Prometheus metrics of this process (GET /metrics). */
    metrics: Registry;
  }
}

/** A probe that does not answer within this is down (a readiness check must answer fast). */
const PROBE_TIMEOUT_MS = 1_000;

const within = <T>(p: Promise<T>, ms: number): Promise<boolean> =>
  new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    p.then(
      () => resolve(true),
      () => resolve(false),
    ).finally(() => clearTimeout(timer));
  });

/**
 * Operations endpoints of every node (no authentication; keep them off the public
 * balancer's paths if you like):
 * - `GET /healthz`: liveness — the process answers. Touches neither Redis nor
 *   PostgreSQL, so a Redis blip never makes an orchestrator restart every node
 *   (livekit#4663).
 * - `GET /readyz`: readiness — PostgreSQL and Redis answer and the node is not
 *   draining; 503 otherwise (the balancer stops sending new clients).
 * - `GET /metrics`: Prometheus text (prom-client): rooms, peers, producers,
 *   consumers, worker CPU, placements, cross-node commands, drain state, HTTP
 *   requests and the default process metrics.
 * Kept whole (~80 lines): the metrics registry, the hook that counts requests and the three routes.
 */
export const opsPlugin = fp(
  async (app: FastifyInstance) => {
    const registry = new Registry();
    registry.setDefaultLabels({ node: app.rooms.directory.nodeId });
    collectDefaultMetrics({ register: registry });
    const rooms = () => app.rooms;
    const totals = () => {
      let peers = 0;
      let producers = 0;
      let consumers = 0;
      for (const room of rooms().listRooms()) {
        const c = room.counts();
        peers += c.peers;
        producers += c.producers;
        consumers += c.consumers;
      }
      return { rooms: rooms().listRooms().length, peers, producers, consumers };
    };
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value());
        },
      });
    gauge('mentorlive_rooms', 'Live rooms held by this node', () => totals().rooms);
    gauge('mentorlive_peers', 'Peers in the rooms of this node', () => totals().peers);
    gauge('mentorlive_producers', 'mediasoup producers on this node', () => totals().producers);
    gauge('mentorlive_consumers', 'mediasoup consumers on this node', () => totals().consumers);
    gauge('mentorlive_worker_cpu_cores', 'CPU used by the mediasoup workers at the last registry publication (cores)', () => rooms().pool.lastCpu);
    gauge('mentorlive_draining', '1 while this node drains (SIGTERM)', () => (rooms().draining ? 1 : 0));
    new Counter({
      name: 'mentorlive_placements_total',
      help: 'Rooms this node placed (on itself or on another node)',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(rooms().placement.placements);
      },
    });
    new Counter({
      name: 'mentorlive_room_commands_failed_total',
      help: 'Cross-node room commands that timed out or found no owner',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(rooms().commands.stats.failed);
      },
    });
    const latency = new Histogram({
      name: 'mentorlive_room_command_seconds',
      help: 'Round trip of room commands sent to another node',
      labelNames: ['command'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    rooms().commands.stats.observe = (ms, command) => latency.observe({ command }, ms / 1000);
    const http = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.025, 0.1, 0.25, 1, 2.5, 10],
      registers: [registry],
    });
    app.addHook('onResponse', async (request, reply) => {
      http.observe({ route: request.routeOptions.url ?? 'unmatched', method: request.method, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    app.decorate('metrics', registry);

    const ops = { tags: ['ops'] };
    app.get('/healthz', { config: { access: 'public' }, schema: { ...ops, summary: 'Liveness: this process answers (no dependency checked)' } }, async () => ({ status: 'alive' }));
    app.get('/readyz', { config: { access: 'public' }, schema: { ...ops, summary: 'Readiness: PostgreSQL and Redis answer and the node is not draining' } }, async (_request, reply) => {
      const [db, redis] = await Promise.all([within(app.db.one('SELECT 1 AS ok'), PROBE_TIMEOUT_MS), within(app.redis.ping(), PROBE_TIMEOUT_MS)]);
      const draining = rooms().draining;
      const ready = db && redis && !draining;
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', db: db ? 'ok' : 'down', redis: redis ? 'ok' : 'down', draining });
    });
    app.get('/metrics', { config: { access: 'public' }, schema: { ...ops, summary: 'Prometheus metrics of this node' } }, async (_request, reply) =>
      reply.type(registry.contentType).send(await registry.metrics()),
    );
  },
  { name: 'ops', dependencies: ['rooms'] },
);
