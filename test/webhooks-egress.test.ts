import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { startWebhookReceiver } from './helpers/webhook-receiver.ts';

// The SSRF guard, with the test helpers' loopback allowlist switched off.
t.test('webhooks refuse loopback, private and link-local destinations', async (t) => {
  const receiver = await startWebhookReceiver(t);
  const { app, db, url, demo, login } = await startTestApp(t, { env: { WEBHOOK_ALLOWED_HOSTS: '', WEBHOOK_MAX_ATTEMPTS: '1' } });
  const token = await login(demo.coordinator);

  await t.test('a literal forbidden IP is refused at creation with a stable code', async (t) => {
    for (const dest of ['http://127.0.0.1:9/x', 'http://10.1.2.3/x', 'http://192.168.0.1/x', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://[fe80::1]/x', 'http://[fc00::1]/x', 'http://0.0.0.0/x', 'http://[::ffff:127.0.0.1]/x']) {
      const res = await api(url, 'POST', '/webhooks', token, { url: dest, events: ['recording.ready'] });
      t.equal(res.status, 400, dest);
      t.equal(res.body.code, 'webhook_destination_forbidden', dest);
    }
    t.equal((await api(url, 'POST', '/webhooks', token, { url: 'https://hooks.example.org/x', events: ['recording.ready'] })).status, 201, 'a public destination is accepted');
  });

  await t.test('a name that resolves to loopback fails the delivery at connect time, recorded, never sent', async (t) => {
    const target = receiver.url.replace('127.0.0.1', 'localhost');
    const sub = await api(url, 'POST', '/webhooks', token, { url: target, events: ['diploma.issued'] });
    t.equal(sub.status, 201, 'a name is accepted at creation (checked when connecting)');
    await app.outbox.append(db, 'diploma.issued', { studentId: demo.student.id, diplomaId: '00000000-0000-4000-8000-000000000003' });
    let dead: any[] = [];
    for (let i = 0; i < 400 && dead.length === 0; i++) {
      dead = (await api(url, 'GET', `/webhooks/${sub.body.id}/deliveries?status=dead_letter`, token)).body;
      if (dead.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(dead.length, 1, 'the delivery failed (recorded), the server did not crash');
    t.match(dead[0].lastError, /forbidden address/);
    t.equal(receiver.received.length, 0, 'the internal receiver was never called');
    t.equal((await api(url, 'GET', '/health')).status < 500, true, 'the server is healthy');
  });
});
