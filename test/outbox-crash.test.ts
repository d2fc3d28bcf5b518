import t from 'tap';
import { api } from './helpers/app.ts';
import { createTestDb } from './helpers/db.ts';
import { until } from './helpers/recording-media.ts';
import { serverProcessEnv, startPrivateRedis, startServerProcess, stopProcess } from './helpers/server-process.ts';
import { startWebhookReceiver } from './helpers/webhook-receiver.ts';
import { verifySignature } from '../src/progression/index.ts';

// The outbox's promise: an event committed with its change reaches the
// school's systems even if the server dies before delivering it. To stop the
// server exactly between the commit and the delivery, its Redis (BullMQ: the
// relay and the webhook jobs) is frozen while a session is cancelled: the
// cancellation commits in PostgreSQL, nothing can be delivered, and the
// server is killed (SIGKILL) right then. Restarted, it delivers the webhook,
// once.
t.test('a server killed between the commit and the delivery delivers the webhook after a restart, exactly once', async (t) => {
  const { db, url: databaseUrl } = await createTestDb(t, 'pg');
  const redis = await startPrivateRedis(t);
  const receiver = await startWebhookReceiver(t);
  const { env, url } = await serverProcessEnv(t, { databaseUrl: databaseUrl!, redisUrl: redis.url, redisPrefix: 'ml' });

  const first = await startServerProcess(env);
  t.teardown(() => stopProcess(first.child, 'SIGKILL'));
  const login = async (email: string, password: string) => (await api(url, 'POST', '/auth/login', undefined, { email, password })).body.accessToken as string;
  const [coordinator, mentor] = await Promise.all([login('coordinator@demo.school', 'coordinator-demo-1'), login('mentor@demo.school', 'mentor-demo-1')]);
  const secret = 'the-school-secret-for-the-crash-test';
  const sub = await api(url, 'POST', '/webhooks', coordinator, { url: receiver.url, events: ['session.cancelled'], secret });
  t.equal(sub.status, 201);
  // The demo seed's mentoring session.
  const session = await db.one<{ id: string }>(`SELECT id FROM sessions WHERE kind = 'mentoring' AND status = 'scheduled' ORDER BY starts_at LIMIT 1`);
  t.ok(session, 'the demo seed has a scheduled session');

  redis.pause();
  // The request does not finish (what follows the commit waits for Redis); the commit is what we wait for.
  const cancelling = api(url, 'POST', `/sessions/${session!.id}/cancel`, mentor, { reason: 'crash test' }).catch((err: Error) => err);
  await until(async () => (await db.one(`SELECT 1 FROM sessions WHERE id = $1 AND status = 'cancelled'`, [session!.id])) !== undefined, 20_000, 'the cancellation committed');
  t.equal(await stopProcess(first.child, 'SIGKILL'), null, 'the server is killed');
  redis.resume();
  t.type(await cancelling, Error, 'the cancelling request died with the server');

  const [event] = await db.query<{ id: string; deliveredAt: Date | null }>(`SELECT id, delivered_at AS "deliveredAt" FROM outbox WHERE event = 'session.cancelled'`);
  t.ok(event, 'the event was committed with the cancellation');
  t.equal(event!.deliveredAt, null, 'and not delivered');
  t.equal(receiver.received.length, 0, 'nothing reached the receiver');

  const second = await startServerProcess(env);
  t.teardown(() => stopProcess(second.child));
  const [hook] = await receiver.until((r) => r.length >= 1);
  // Delivered and recorded as such: no later pass of the relay or the webhook job sends it again.
  await until(
    async () => (await db.one(`SELECT 1 FROM outbox WHERE id = $1 AND delivered_at IS NOT NULL`, [event!.id])) !== undefined,
    20_000,
    'the event marked delivered',
  );
  await until(async () => (await db.one(`SELECT 1 FROM webhook_deliveries WHERE event_id = $1 AND status = 'delivered'`, [event!.id])) !== undefined, 20_000, 'the delivery marked delivered');
  t.equal(hook!.headers['x-webhook-event-id'], event!.id, 'the webhook carries the event id');
  t.equal(hook!.json.event, 'session.cancelled');
  t.same(hook!.json.data, { sessionId: session!.id, late: true, cancelledBy: (await db.one<{ id: string }>(`SELECT id FROM users WHERE email = 'mentor@demo.school'`))!.id });
  t.ok(verifySignature(secret, String(hook!.headers['x-webhook-timestamp']), hook!.body, String(hook!.headers['x-webhook-signature'])), 'signed');
  t.equal(await stopProcess(second.child), 0, 'the second server stops cleanly');
  t.equal(receiver.received.length, 1, 'received exactly once');
});
