import t from 'tap';
import { existsSync } from 'node:fs';
import { startTestApp, request } from './helpers/app.ts';
import { buildWebClient, launchBrowser, loginThroughForm, newPage } from './helpers/browser.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { allocate, startCoturn, turnserverPath } from './helpers/turn.ts';
import { turnCredentials } from '../src/rooms/turn.ts';
import type { JoinResult } from '../src/rooms/messages.ts';

/**
 * TURN through a real coturn (TURN REST API credentials): the server hands
 * each joining user expiring credentials; coturn accepts them, refuses them
 * once expired; a Chromium page forced to relay sends and receives media
 * through coturn.
 */
buildWebClient();

/** No coturn fails these tests with the line that installs it (CI installs it: system-packages.txt, group ci). */
const requireCoturn = () => {
  if (!existsSync(turnserverPath)) throw new Error(`coturn is not installed (no ${turnserverPath}): sudo apt-get install -y --no-install-recommends coturn`);
};

t.test('TURN configuration: URLs, secret, lifetime, relay policy', async (t) => {
  const { readRoomsConfig } = await import('../src/rooms/config.ts');
  const urls = 'turn:turn.example.org:3478?transport=udp, turn:turn.example.org:3478?transport=tcp,turns:turn.example.org:443?transport=tcp';
  const c = readRoomsConfig({ TURN_URLS: urls, TURN_SECRET: 's'.repeat(32), ROOM_ICE_TRANSPORT_POLICY: 'relay' });
  t.same(c.turn, {
    urls: ['turn:turn.example.org:3478?transport=udp', 'turn:turn.example.org:3478?transport=tcp', 'turns:turn.example.org:443?transport=tcp'],
    secret: 's'.repeat(32),
    credentialTtlSeconds: 14_400,
  });
  t.equal(c.iceTransportPolicy, 'relay');
  const none = readRoomsConfig({});
  t.equal(none.turn, undefined);
  t.equal(none.iceTransportPolicy, 'all');
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ TURN_URLS: urls }, /TURN_SECRET is required with TURN_URLS/],
    [{ TURN_SECRET: 's'.repeat(32) }, /TURN_SECRET is set but TURN_URLS is not/],
    [{ TURN_URLS: 'stun:stun.example.org', TURN_SECRET: 's'.repeat(32) }, /TURN_URLS must be comma-separated turn: or turns: URLs/],
    [{ TURN_URLS: 'turn:x?transport=sctp', TURN_SECRET: 's'.repeat(32) }, /TURN_URLS must be/],
    [{ TURN_URLS: urls, TURN_SECRET: 'short' }, /TURN_SECRET must be at least 16 characters/],
    [{ TURN_URLS: urls, TURN_SECRET: 's'.repeat(32), TURN_CREDENTIAL_TTL_SECONDS: '10' }, /TURN_CREDENTIAL_TTL_SECONDS must be >= 60/],
    [{ ROOM_ICE_TRANSPORT_POLICY: 'relay' }, /ROOM_ICE_TRANSPORT_POLICY is relay but no TURN server is configured/],
    [{ ROOM_ICE_TRANSPORT_POLICY: 'direct' }, /ROOM_ICE_TRANSPORT_POLICY must be one of all, relay/],
  ];
  for (const [env, message] of cases) t.throws(() => readRoomsConfig(env), message);
  // A static TURN entry in ROOM_ICE_SERVERS is a relay too.
  t.equal(readRoomsConfig({ ROOM_ICE_TRANSPORT_POLICY: 'relay', ROOM_ICE_SERVERS: '[{"urls":"turn:t.example.org","username":"u","credential":"p"}]' }).iceTransportPolicy, 'relay');
});

t.test('join hands out TURN REST credentials that coturn accepts, and refuses once expired', async (t) => {
  requireCoturn();
  const turn = await startCoturn(t);
  const ctx = await startTestApp(t, { env: { TURN_URLS: turn.urls.join(','), TURN_SECRET: turn.secret, TURN_CREDENTIAL_TTL_SECONDS: '600' } });
  const { demo } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const socket = ctx.socket(await ctx.login(demo.student), '/rooms');
  const before = Math.floor(Date.now() / 1000);
  const joined = await request<JoinResult>(socket, 'join', { sessionId });
  const after = Math.floor(Date.now() / 1000);
  t.equal(joined.error, undefined);
  t.equal(joined.data!.iceTransportPolicy, 'all');
  const [relay] = joined.data!.iceServers;
  t.same(relay!.urls, turn.urls, 'the TURN URLs of the configuration');
  const [expiry, userId] = relay!.username!.split(':');
  t.equal(userId, demo.student.id, 'the username names the user');
  t.ok(Number(expiry) >= before + 600 && Number(expiry) <= after + 600, 'and expires after TURN_CREDENTIAL_TTL_SECONDS');

  // coturn checks them: what the server handed out allocates a relay.
  const fresh = await allocate(turn.port, relay!.username!, relay!.credential!);
  t.ok(fresh.ok, `coturn accepts the credentials of the join (${JSON.stringify(fresh)})`);

  // The same scheme with an expiry in the past (made 2 TTLs ago): refused, while an equally made fresh one is accepted.
  const config = { urls: turn.urls, secret: turn.secret, credentialTtlSeconds: 600 };
  const expired = turnCredentials(config, demo.student.id, new Date(Date.now() - 1_200_000));
  const another = turnCredentials(config, demo.mentor.id, new Date());
  const forged = turnCredentials({ ...config, secret: 'not-the-secret-of-coturn' }, demo.mentor.id, new Date());
  const [expiredRes, freshRes, wrongSecretRes] = await Promise.all(
    [expired, another, forged].map((c) => allocate(turn.port, c.username!, c.credential!)),
  );
  t.same(expiredRes, { ok: false, errorCode: 401 }, 'an expired credential is refused (401)');
  t.ok(freshRes?.ok, 'a fresh one made the same way is accepted');
  t.same(wrongSecretRes, { ok: false, errorCode: 401 }, 'a password not made with the shared secret is refused (401)');
});

t.test('browser: Chromium with iceTransportPolicy relay: media both ways through coturn', async (t) => {
  requireCoturn();
  const turn = await startCoturn(t);
  const ctx = await startTestApp(t, { env: { TURN_URLS: turn.urls.join(','), TURN_SECRET: turn.secret, ROOM_ICE_TRANSPORT_POLICY: 'relay' } });
  const { demo } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const browser = await launchBrowser(t);
  const student = await newPage(browser, ctx.url);
  const mentor = await newPage(browser, ctx.url);
  await Promise.all([
    loginThroughForm(student.page, demo.student, `/#/sessions/${sessionId}`),
    loginThroughForm(mentor.page, demo.mentor, `/#/sessions/${sessionId}`),
  ]);
  await Promise.all([student.page.locator('.room[data-status="joined"]').waitFor(), mentor.page.locator('.room[data-status="joined"]').waitFor()]);

  // Each page decodes the other's camera and receives the other's microphone.
  const receiving = (page: typeof student.page, fromUserId: string) =>
    page.waitForFunction(async (uid) => {
      const stats = await window.mlRoom!.stats();
      const video = stats.find((s) => s.userId === uid && s.kind === 'video');
      const audio = stats.find((s) => s.userId === uid && s.kind === 'audio');
      return (video?.framesDecoded ?? 0) > 10 && (audio?.packetsReceived ?? 0) > 10;
    }, fromUserId);
  await Promise.all([receiving(mentor.page, demo.student.id), receiving(student.page, demo.mentor.id)]);
  t.pass('video decoded and audio received on both pages');

  // Both transports of both pages go through the relay (the selected candidate pair's local side).
  for (const [who, page] of [['student', student.page], ['mentor', mentor.page]] as const) {
    // Chromium reports the selected pair once ICE has settled, a moment after media flows (polled here:
    // waitForFunction does not await an async predicate).
    let paths = await page.evaluate(() => window.mlRoom!.paths());
    for (let i = 0; i < 300 && (!paths.send || !paths.recv); i++) {
      await page.waitForTimeout(100);
      paths = await page.evaluate(() => window.mlRoom!.paths());
    }
    t.equal(paths.send?.local, 'relay', `${who}: media sent through coturn (${JSON.stringify(paths.send)})`);
    t.equal(paths.recv?.local, 'relay', `${who}: media received through coturn (${JSON.stringify(paths.recv)})`);
  }
  t.same(student.errors, []);
  t.same(mentor.errors, []);
});
