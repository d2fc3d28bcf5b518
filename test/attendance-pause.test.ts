import t from 'tap';
import { api, startTestApp } from './helpers/app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';
import { WeriftPeer } from '../support/werift-peer.ts';

/**
 * Camera off and mute through the real `/rooms` namespace: a student sends a
 * real webcam and mic (werift over ICE/DTLS into mediasoup), pauses the camera
 * for five minutes (pausing twice, as a flaky client may) and mutes the mic
 * until leaving. The injected clock stands at each instant before the socket
 * acts, so camera and mic seconds are checked to the second.
 */
t.test('a paused producer is not camera or mic time', async (t) => {
  const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
  let now = T0;
  const clock = { now: () => new Date(now) };
  const ctx = await startTestApp(t, { clock });
  const { app, url, db, demo } = ctx;
  const at = (s: number) => new Date(T0 + s * 1000);
  const standAt = (s: number) => {
    now = T0 + s * 1000;
  };

  const sessionId = await insertDemoMentoring(db, demo, { startsAt: at(0), endsAt: at(3600) });
  const [studentToken, mentorToken] = await Promise.all([ctx.login(demo.student), ctx.login(demo.mentor)]);

  standAt(0);
  const mentor = await WeriftPeer.connect(url, mentorToken);
  t.teardown(() => mentor.close());
  await mentor.join(sessionId);
  const student = await WeriftPeer.connect(url, studentToken);
  t.teardown(() => student.close());
  await student.join(sessionId);
  await app.events.drain();

  standAt(10);
  const webcam = await student.produce('video', 'webcam');
  const mic = await student.produce('audio', 'mic');
  await app.events.drain();

  // Camera off at +100 s (the client pauses twice), back on at +400 s; the mentor is told both times.
  standAt(100);
  const seePause = mentor.nextEvent<{ producerId: string }>('producerPaused', (p) => p.producerId === webcam.producerId);
  await student.request('pauseProducer', { producerId: webcam.producerId });
  await seePause;
  standAt(150);
  await student.request('pauseProducer', { producerId: webcam.producerId });
  await app.events.drain();
  standAt(400);
  const seeResume = mentor.nextEvent<{ producerId: string }>('producerResumed', (p) => p.producerId === webcam.producerId);
  await student.request('resumeProducer', { producerId: webcam.producerId });
  await seeResume;
  await app.events.drain();

  // Muted at +500 s and still muted when leaving at +700 s.
  standAt(500);
  await student.request('pauseProducer', { producerId: mic.producerId });
  await app.events.drain();
  standAt(700);
  await student.request('leave', {});
  await mentor.request('leave', {});
  await Promise.all([student.close(), mentor.close()]);
  await app.events.drain();

  const logged = await db.query<{ type: string; source: string | null; at: Date }>(
    `SELECT type, source, at FROM presence_events
      WHERE session_id = $1 AND user_id = $2 AND type IN ('producer_paused', 'producer_resumed') ORDER BY at, id`,
    [sessionId, demo.student.id],
  );
  t.same(
    logged.map((e) => [e.type, e.source, e.at.toISOString()]),
    [
      ['producer_paused', 'webcam', at(100).toISOString()],
      ['producer_resumed', 'webcam', at(400).toISOString()],
      ['producer_paused', 'mic', at(500).toISOString()],
    ],
    'one pause per real transition, with its source, in server time',
  );

  standAt(800);
  const live = await api(url, 'GET', `/sessions/${sessionId}/attendance`, studentToken);
  t.equal(live.status, 200);
  const me = live.body.participants.find((p: { userId: string }) => p.userId === demo.student.id);
  t.match(me, { attendedSeconds: 700, cameraSeconds: 90 + 300, micSeconds: 490, screenSeconds: 0 }, 'the paused minutes are not media time');
});
