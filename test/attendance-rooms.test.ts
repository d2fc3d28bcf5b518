import t from 'tap';
import type { Socket as ClientSocket } from 'socket.io-client';
import type { DomainEventMap, DomainEventName } from '../src/events/index.ts';
import { api, nextEvent, request, startTestApp } from './helpers/app.ts';
import { insertDemoDefence } from './helpers/sessions.ts';
import { WeriftPeer } from '../support/werift-peer.ts';

interface PresenceBroadcast {
  sessionId: string;
  change: { userId: string; type: string; at: string };
  present: Array<{ userId: string; name: string; role: string; since: string; connected: boolean }>;
}

/**
 * A defence driven through the real `/rooms` namespace: a jury member comes
 * early and turns the camera on; the candidate joins late, drops and comes back
 * within the grace on a new socket, and leaves early; the second jury member
 * never joins (the real no-show job marks them). The injected clock stands at
 * each instant before the socket acts, so the figures are checked to the second.
 */
t.test('attendance of a defence through real room sockets', async (t) => {
  const T0 = Math.floor(Date.now() / 1000) * 1000 - 3600_000;
  let now = T0 - 60_000;
  const clock = { now: () => new Date(now) };
  const ctx = await startTestApp(t, { clock });
  const { app, url, db, demo } = ctx;
  const at = (s: number) => new Date(T0 + s * 1000);
  const isoAt = (s: number) => at(s).toISOString();
  const standAt = (s: number) => {
    now = T0 + s * 1000;
  };
  const once = <K extends DomainEventName>(event: K, match: (p: DomainEventMap[K]) => boolean) =>
    new Promise<DomainEventMap[K]>((resolve) => {
      const off = app.events.on(event, (p) => {
        if (match(p)) {
          off();
          resolve(p);
        }
      });
    });

  const sessionId = await insertDemoDefence(db, demo, { startsAt: at(0), endsAt: at(3600) });
  const [studentToken, juryToken, coordinatorToken, soloToken] = await Promise.all([
    ctx.login(demo.student),
    ctx.login(demo.jury[0]),
    ctx.login(demo.coordinator),
    ctx.login(demo.soloStudent),
  ]);
  const presenceOn = (socket: ClientSocket, userId: string, type: string) =>
    nextEvent<PresenceBroadcast>(socket, 'presence', (p) => p.sessionId === sessionId && p.change.userId === userId && p.change.type === type);

  // The jury member joins a minute early with a real WebRTC peer and turns the camera on.
  standAt(-60);
  const jury = await WeriftPeer.connect(url, juryToken);
  t.teardown(() => jury.close());
  await jury.join(sessionId);
  await app.events.drain();
  standAt(-30);
  await jury.produce('video', 'webcam');
  await app.events.drain();

  // The candidate joins 45 s late (a join needs no media); the jury sees them present.
  standAt(45);
  const first = ctx.socket(studentToken, '/rooms');
  const seeJoin = presenceOn(jury.socket, demo.student.id, 'join');
  const joined = await request(first, 'join', { sessionId });
  t.notOk(joined.error, 'the candidate joins');
  const afterJoin = await seeJoin;
  t.same(
    afterJoin.present.map((p) => [p.userId, p.role, p.since, p.connected]),
    [
      [demo.jury[0].id, 'jury', isoAt(-60), true],
      [demo.student.id, 'student', isoAt(45), true],
    ],
    'the room is told who is present',
  );

  // The network drops at +600 s; a new socket joins again at +620 s, within the 60 s grace.
  standAt(600);
  const seeDrop = presenceOn(jury.socket, demo.student.id, 'disconnect');
  first.disconnect();
  const dropped = await seeDrop;
  t.equal(dropped.present.find((p) => p.userId === demo.student.id)?.connected, false, 'within the grace the candidate is still shown, not connected');
  standAt(620);
  const second = ctx.socket(studentToken, '/rooms');
  const seeBack = presenceOn(jury.socket, demo.student.id, 'reconnect');
  t.notOk((await request(second, 'join', { sessionId })).error, 'the candidate comes back');
  t.equal((await seeBack).present.find((p) => p.userId === demo.student.id)?.connected, true);
  const listed = await api(url, 'GET', `/sessions/${sessionId}/presence`, studentToken);
  t.same(listed.body.map((p: { userId: string; since: string }) => [p.userId, p.since]), [
    [demo.jury[0].id, isoAt(-60)],
    [demo.student.id, isoAt(45)],
  ], 'the same list over HTTP: one interval since the first join');
  t.equal((await api(url, 'GET', `/sessions/${sessionId}/presence`, soloToken)).status, 404);

  // The no-show check runs (start + 10 min has passed): only the absent jury member is marked.
  standAt(1200);
  const marked = once('attendance.no_show', (p) => p.sessionId === sessionId);
  await app.attendance.scheduleSession(sessionId);
  t.same((await marked).userIds, [demo.jury[1].id]);

  // The candidate leaves 30 minutes early; the jury member stays to the end.
  standAt(1800);
  const seeLeave = presenceOn(jury.socket, demo.student.id, 'leave');
  t.notOk((await request(second, 'leave', {})).error);
  t.same((await seeLeave).present.map((p) => p.userId), [demo.jury[0].id]);
  standAt(3600);
  await jury.request('leave', {});
  await app.events.drain();

  const expected = {
    [demo.student.id]: {
      role: 'student',
      status: 'left_early',
      firstJoinAt: isoAt(45),
      lastLeaveAt: isoAt(1800),
      latenessSeconds: 45,
      attendedSeconds: 1755,
      networkGaps: 1,
      networkGapSeconds: 20,
      cameraSeconds: 0,
      intervals: [{ from: isoAt(45), to: isoAt(1800), networkGaps: 1, networkGapSeconds: 20 }],
    },
    [demo.jury[0].id]: {
      role: 'jury',
      status: 'present',
      firstJoinAt: isoAt(-60),
      lastLeaveAt: isoAt(3600),
      latenessSeconds: 0,
      attendedSeconds: 3660,
      networkGaps: 0,
      cameraSeconds: 3630,
      intervals: [{ from: isoAt(-60), to: isoAt(3600), networkGaps: 0, networkGapSeconds: 0 }],
    },
    [demo.jury[1].id]: { role: 'jury', status: 'no_show', firstJoinAt: null, attendedSeconds: 0, noShowMarkedAt: isoAt(1200), intervals: [] },
  };
  const check = (body: { participants: Array<{ userId: string }> }) => {
    t.equal(body.participants.length, 3);
    for (const p of body.participants) t.match(p, expected[p.userId]!, `figures of ${p.userId}`);
  };

  standAt(3660);
  const live = await api(url, 'GET', `/sessions/${sessionId}/attendance`, studentToken);
  t.equal(live.status, 200);
  t.equal(live.body.state, 'live');
  check(live.body);
  t.equal((await api(url, 'GET', `/sessions/${sessionId}/attendance`, soloToken)).status, 404, "another student cannot read this session's attendance");

  // Finalized by the real job after end + 20 minutes; a late straggler changes nothing.
  standAt(3600 + 25 * 60);
  const finalized = once('attendance.finalized', (p) => p.sessionId === sessionId);
  await app.attendance.scheduleSession(sessionId);
  await finalized;
  const frozen = await api(url, 'GET', `/sessions/${sessionId}/attendance`, coordinatorToken);
  t.equal(frozen.body.state, 'finalized');
  check(frozen.body);
  app.events.emit('room.presence', { sessionId, userId: demo.jury[1].id, type: 'join', at: at(3600 + 26 * 60) });
  await app.events.drain();
  t.equal((await app.attendance.finalize(sessionId))?.alreadyFinalized, true);
  check((await api(url, 'GET', `/sessions/${sessionId}/attendance`, coordinatorToken)).body);

  const record = await api(url, 'GET', `/users/${demo.jury[1].id}/attendance-record`, coordinatorToken);
  t.equal(record.body.noShows, 1);
});
