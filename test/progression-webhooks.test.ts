import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { startWebhookReceiver } from './helpers/webhook-receiver.ts';
import { until } from './helpers/recording-media.ts';
import { signPayload, verifySignature } from '../src/progression/index.ts';

t.test('signatures: HMAC-SHA256 over timestamp and body, old timestamps refused', async (t) => {
  const body = JSON.stringify({ event: 'diploma.issued' });
  const now = Date.now();
  const ts = Math.floor(now / 1000);
  const sig = signPayload('whsec_test', ts, body);
  t.match(sig, /^v1=[0-9a-f]{64}$/);
  t.ok(verifySignature('whsec_test', ts, body, sig, now));
  t.notOk(verifySignature('whsec_test', ts + 1, body, sig, now), 'another timestamp');
  t.notOk(verifySignature('whsec_test', ts, body, sig, now + 10 * 60_000), 'a replay ten minutes later');
  t.notOk(verifySignature('whsec_test', ts, body, 'v1=00', now), 'a truncated signature');
});

t.test('webhook subscriptions and deliveries', async (t) => {
  const receiver = await startWebhookReceiver(t);
  const { app, db, url, demo, login } = await startTestApp(t, { env: { WEBHOOK_BACKOFF_MS: '20', WEBHOOK_MAX_ATTEMPTS: '3' } });
  // Webhooks are driven by the outbox: an event appended (as a capability does in its transaction) is relayed to them.
  const relayed = (eventId: string) =>
    until(async () => (await db.one('SELECT 1 FROM outbox WHERE id = $1 AND delivered_at IS NOT NULL', [eventId])) !== undefined, 20_000, `event ${eventId} relayed`);
  const [coordinatorToken, mentorToken] = await Promise.all([login(demo.coordinator), login(demo.mentor)]);

  await t.test('only coordinators manage subscriptions; events and URLs are checked', async (t) => {
    t.equal((await api(url, 'POST', '/webhooks', mentorToken, { url: receiver.url, events: ['diploma.issued'] })).status, 403);
    t.equal((await api(url, 'GET', '/webhooks', mentorToken)).status, 403);
    const unknown = await api(url, 'POST', '/webhooks', coordinatorToken, { url: receiver.url, events: ['room.presence'] });
    t.equal(unknown.status, 400);
    const ftp = await api(url, 'POST', '/webhooks', coordinatorToken, { url: 'ftp://example.org/x', events: ['diploma.issued'] });
    t.equal(ftp.status, 400);
    t.equal(ftp.body.code, 'invalid_url');
  });

  await t.test('a receiver that keeps failing: exponential retries, then the dead-letter state; a redelivery succeeds', async (t) => {
    receiver.respond = () => 503;
    const sub = await api(url, 'POST', '/webhooks', coordinatorToken, { url: receiver.url, events: ['recording.ready'], secret: 'a-secret-of-the-school-1234' });
    t.equal(sub.status, 201);
    t.equal(sub.body.secret, 'a-secret-of-the-school-1234');
    const listed = await api(url, 'GET', '/webhooks', coordinatorToken);
    t.notOk('secret' in listed.body[0], 'the secret is not listed');

    await app.outbox.append(db, 'project.validated', { enrollmentId: demo.enrollmentId, projectId: demo.projectIds[0]!, studentId: demo.student.id }); // not subscribed
    const eventId = await app.outbox.append(db, 'recording.ready', { sessionId: '00000000-0000-4000-8000-000000000001', recordingId: '00000000-0000-4000-8000-000000000002' });
    const hooks = await receiver.until((r) => r.length >= 3);
    t.equal(hooks.length, 3);
    t.ok(hooks.every((h) => h.json.event === 'recording.ready'), 'unsubscribed events are not sent');
    t.equal(new Set(hooks.map((h) => h.json.id)).size, 1, 'the same delivery three times');
    t.ok(hooks.every((h) => h.headers['x-webhook-event-id'] === eventId), 'each attempt carries the stable event id a receiver dedupes on');
    t.ok(hooks.every((h) => verifySignature('a-secret-of-the-school-1234', String(h.headers['x-webhook-timestamp']), h.body, String(h.headers['x-webhook-signature']))));

    let dead: any[] = [];
    for (let i = 0; i < 100 && dead.length === 0; i++) {
      dead = (await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries?status=dead_letter`, coordinatorToken)).body;
      if (dead.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(dead.length, 1, 'dead-lettered after WEBHOOK_MAX_ATTEMPTS');
    t.equal(dead[0].attempts, 3);
    t.same(dead[0].log.map((l: { statusCode: number }) => l.statusCode), [503, 503, 503]);
    t.equal(dead[0].lastError, 'HTTP 503');
    t.ok(dead[0].deadAt);

    receiver.respond = () => 204;
    const again = await api(url, 'POST', `/webhooks/deliveries/${dead[0].id}/redeliver`, coordinatorToken);
    t.equal(again.status, 202);
    await receiver.until((r) => r.some((h) => h.answered === 204));
    let delivered: any[] = [];
    for (let i = 0; i < 100 && delivered.length === 0; i++) {
      delivered = (await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries?status=delivered`, coordinatorToken)).body;
      if (delivered.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(delivered.length, 1);
    t.equal(delivered[0].attempts, 4);
    const notDead = await api(url, 'POST', `/webhooks/deliveries/${dead[0].id}/redeliver`, coordinatorToken);
    t.equal(notDead.status, 400);
    t.equal(notDead.body.code, 'delivery_not_dead');
  });

  await t.test('an inactive or deleted subscription gets nothing', async (t) => {
    receiver.received.length = 0;
    receiver.respond = () => 200;
    const sub = await api(url, 'POST', '/webhooks', coordinatorToken, { url: receiver.url, events: ['diploma.issued', 'defence.completed'] });
    const off = await api(url, 'PATCH', `/webhooks/${sub.body.id}`, coordinatorToken, { active: false });
    t.equal(off.body.active, false);
    await relayed(await app.outbox.append(db, 'diploma.issued', { diplomaId: '00000000-0000-4000-8000-000000000003', studentId: demo.student.id }));
    t.equal((await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries`, coordinatorToken)).body.length, 0);
    t.equal((await api(url, 'DELETE', `/webhooks/${sub.body.id}`, coordinatorToken)).status, 204);
    t.equal((await api(url, 'DELETE', `/webhooks/${sub.body.id}`, coordinatorToken)).status, 404);
  });

  await t.test('an event relayed again (a crash after the webhook was sent, before the relay noted it) is not sent again', async (t) => {
    receiver.received.length = 0;
    receiver.respond = () => 200;
    const sub = await api(url, 'POST', '/webhooks', coordinatorToken, { url: receiver.url, events: ['defence.completed'] });
    t.equal(sub.status, 201);
    const eventId = await app.outbox.append(db, 'defence.completed', { sessionId: '00000000-0000-4000-8000-000000000004', studentId: demo.student.id, outcome: 'pass' });
    await relayed(eventId);
    await receiver.until((r) => r.length >= 1);
    // What a crash between the handler and the relay's bookkeeping leaves: the event looks undelivered.
    await db.execute('DELETE FROM outbox_handled WHERE event_id = $1', [eventId]);
    await db.execute('UPDATE outbox SET delivered_at = NULL WHERE id = $1', [eventId]);
    const pass = await app.outbox.relay();
    t.ok(pass.delivered >= 1, 'the relay ran the handlers again');
    const deliveries = (await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries`, coordinatorToken)).body;
    t.equal(deliveries.length, 1, 'one delivery per event and subscription');
    t.equal(deliveries[0].attempts, 1);
    t.equal(receiver.received.length, 1, 'the receiver got it once');
  });
});
