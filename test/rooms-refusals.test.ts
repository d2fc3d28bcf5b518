import t from 'tap';
import { startTestApp, type TestApp } from './helpers/app.ts';
import { insertSession } from './helpers/sessions.ts';
import { RoomRequestError, WeriftPeer } from '../support/werift-peer.ts';

const minutes = (n: number) => n * 60_000;

async function session(ctx: TestApp, fromNowMinutes: number, durationMinutes: number, extra: Array<{ userId: string; role: 'jury' | 'observer' }> = []) {
  const { demo } = ctx;
  const startsAt = new Date(Date.now() + minutes(fromNowMinutes));
  return insertSession(ctx.db, {
    kind: 'mentoring',
    enrollmentId: demo.enrollmentId,
    projectId: demo.projectIds[0]!,
    hostId: demo.mentor.id,
    startsAt,
    endsAt: new Date(startsAt.getTime() + minutes(durationMinutes)),
    participants: [{ userId: demo.student.id, role: 'student' }, { userId: demo.mentor.id, role: 'mentor' }, ...extra],
  });
}

/** Resolves with the error code of a refused request (fails the test if it succeeded). */
async function refused(peer: WeriftPeer, event: string, payload: unknown): Promise<string> {
  try {
    await peer.request(event, payload);
  } catch (err) {
    if (err instanceof RoomRequestError) return err.code;
    throw err;
  }
  throw new Error(`${event} was accepted`);
}

t.test('every refusal gets an error ack while media keeps flowing for the others', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const sessionId = await session(ctx, -5, 60, [{ userId: demo.jury[1].id, role: 'jury' }]);
  const tokens = new Map<string, string>();
  const peer = async (who: { email: string; password: string }) => {
    if (!tokens.has(who.email)) tokens.set(who.email, await ctx.login(who));
    const p = await WeriftPeer.connect(ctx.url, tokens.get(who.email)!);
    t.teardown(() => p.close());
    return p;
  };

  // A real media flow (mentor → observing coordinator) that must survive everything below.
  const mentor = await peer(demo.mentor);
  await mentor.join(sessionId);
  const video = await mentor.produce('video', 'webcam');
  const mentorTransport = video.transportId;
  const coordinator = await peer(demo.coordinator);

  await t.test('events before join', async (t) => {
    t.equal(await refused(coordinator, 'createTransport', { direction: 'send' }), 'not_joined');
    t.equal(await refused(coordinator, 'produce', { transportId: 'x', kind: 'audio', rtpParameters: { codecs: [{}] }, appData: { source: 'mic' } }), 'not_joined');
    t.equal(await refused(coordinator, 'consume', { transportId: 'x', producerId: video.producerId, rtpCapabilities: {} }), 'not_joined');
    t.equal(await refused(coordinator, 'resumeConsumer', { consumerId: 'x' }), 'not_joined');
    t.equal(await refused(coordinator, 'getTransportStats', { transportId: mentorTransport }), 'not_joined');
    t.equal(await refused(coordinator, 'leave', {}), 'not_joined');
  });

  let watched = '';
  await t.test('an observer may watch but not produce', async (t) => {
    const joined = await coordinator.join(sessionId);
    t.equal(joined.role, 'observer');
    t.equal(await refused(coordinator, 'createTransport', { direction: 'send' }), 'observer_cannot_produce');
    const recv = await coordinator.request<{ transportId: string }>('createTransport', { direction: 'recv' });
    t.equal(
      await refused(coordinator, 'produce', { transportId: recv.transportId, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8' }] }, appData: { source: 'webcam' } }),
      'observer_cannot_produce',
    );
    const inbound = await coordinator.consume(video.producerId);
    watched = inbound.consumerId;
    await coordinator.waitForPackets(watched, 10);
    t.pass('the observer receives media');
  });

  await t.test('not a participant, unknown or malformed session', async (t) => {
    const solo = await peer(demo.soloStudent);
    t.equal(await refused(solo, 'join', { sessionId }), 'not_a_participant');
    const jury = await peer(demo.jury[0]);
    t.equal(await refused(jury, 'join', { sessionId }), 'not_a_participant');
    t.equal(await refused(jury, 'join', { sessionId: '00000000-0000-4000-8000-000000000000' }), 'session_not_found');
    t.equal(await refused(jury, 'join', { sessionId: 'not-a-uuid' }), 'session_not_found');
    t.equal(await refused(jury, 'join', {}), 'invalid_payload');
    t.equal(await refused(jury, 'join', 'nonsense'), 'invalid_payload');
  });

  await t.test('outside the window', async (t) => {
    const later = await session(ctx, 120, 60);
    const earlier = await session(ctx, -24 * 60, 60);
    const s = await peer(demo.student);
    t.equal(await refused(s, 'join', { sessionId: later }), 'too_early');
    t.equal(await refused(s, 'join', { sessionId: earlier }), 'session_over');
    t.equal(roomsCount(ctx, [later, earlier]), 0, 'no room was created');
  });

  const student = await peer(demo.student);
  await student.join(sessionId);

  await t.test("another peer's ids, unknown ids, wrong directions", async (t) => {
    const other = student;
    t.equal(await refused(other, 'connectTransport', { transportId: mentorTransport, dtlsParameters: { role: 'client', fingerprints: [{ algorithm: 'sha-256', value: 'AA' }] } }), 'transport_not_found');
    t.equal(await refused(other, 'restartIce', { transportId: mentorTransport }), 'transport_not_found');
    t.equal(await refused(other, 'getTransportStats', { transportId: mentorTransport }), 'transport_not_found');
    t.equal(await refused(other, 'closeTransport', { transportId: mentorTransport }), 'transport_not_found');
    t.equal(await refused(other, 'produce', { transportId: mentorTransport, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8' }] }, appData: { source: 'webcam' } }), 'transport_not_found');
    t.equal(await refused(other, 'pauseProducer', { producerId: video.producerId }), 'producer_not_found');
    t.equal(await refused(other, 'closeProducer', { producerId: video.producerId }), 'producer_not_found');
    t.equal(await refused(other, 'resumeProducer', { producerId: 'nope' }), 'producer_not_found');
    t.equal(await refused(other, 'resumeConsumer', { consumerId: watched }), 'consumer_not_found');
    t.equal(await refused(other, 'pauseConsumer', { consumerId: 'nope' }), 'consumer_not_found');
    t.equal(await refused(other, 'setPreferredLayers', { consumerId: 'nope', spatialLayer: 1 }), 'consumer_not_found');
    const recv = await other.request<{ transportId: string }>('createTransport', { direction: 'recv' });
    const send = await other.request<{ transportId: string }>('createTransport', { direction: 'send' });
    const caps = { codecs: [] };
    t.equal(await refused(other, 'consume', { transportId: recv.transportId, producerId: 'nope', rtpCapabilities: caps }), 'producer_not_found');
    t.equal(await refused(other, 'consume', { transportId: send.transportId, producerId: video.producerId, rtpCapabilities: caps }), 'wrong_transport_direction');
    t.equal(await refused(other, 'consume', { transportId: recv.transportId, producerId: video.producerId, rtpCapabilities: caps }), 'cannot_consume');
    t.equal(await refused(other, 'consume', { transportId: recv.transportId, producerId: video.producerId, rtpCapabilities: { codecs: [{ kind: 'video', mimeType: 42 }] } }), 'cannot_consume');
    t.equal(await refused(other, 'produce', { transportId: recv.transportId, kind: 'audio', rtpParameters: { codecs: [{ mimeType: 'audio/opus' }] }, appData: { source: 'mic' } }), 'wrong_transport_direction');
    t.equal(await refused(other, 'connectTransport', { transportId: recv.transportId, dtlsParameters: { fingerprints: [] } }), 'invalid_payload');
    t.equal(await refused(other, 'createTransport', { direction: 'sideways' }), 'invalid_payload');
  });

  await t.test('malformed rtpParameters and media rules', async (t) => {
    const other = await peer(demo.jury[1]);
    await other.join(sessionId);
    const send = await other.request<{ transportId: string }>('createTransport', { direction: 'send' });
    const produce = (kind: string, rtpParameters: unknown, source = kind === 'audio' ? 'mic' : 'webcam') =>
      refused(other, 'produce', { transportId: send.transportId, kind, rtpParameters, appData: { source } });
    t.equal(await produce('video', { codecs: [{ mimeType: 'video/NOPE', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: 1 }] }), 'invalid_rtp_parameters');
    t.equal(await produce('video', { codecs: [{ mimeType: 'video/VP8', payloadType: 'x', clockRate: 90000 }], encodings: [{ ssrc: 1 }] }), 'invalid_rtp_parameters');
    t.equal(await produce('audio', { codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2 }], encodings: 'many' }), 'invalid_rtp_parameters');
    t.equal(await produce('video', { codecs: [] }), 'invalid_payload');
    t.equal(await produce('video', 'not-an-object'), 'invalid_payload');
    t.equal(await produce('hologram', { codecs: [{}] }), 'invalid_payload');
    t.equal(await produce('audio', { codecs: [{}] }, 'webcam'), 'source_kind_mismatch');
    t.equal(await produce('video', { codecs: [{}] }, 'screen-ish'), 'invalid_payload');
    // One screen share per room.
    const screen = await student.produce('video', 'screen');
    t.ok(screen.producerId);
    t.equal(await produce('video', { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: 2 }] }, 'screen'), 'screen_share_busy');
    const second = await other.produce('video', 'webcam');
    t.equal(
      await refused(other, 'produce', { transportId: second.transportId, kind: 'video', rtpParameters: { codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000 }], encodings: [{ ssrc: 3 }] }, appData: { source: 'webcam' } }),
      'already_producing',
    );
    // A socket that sends garbage without an ack does not bring anything down.
    other.socket.emit('produce', 'garbage');
    other.socket.emit('join');
  });

  // The server and the other peers carried on: the observed flow is still rising.
  const health = await fetch(`${ctx.url}/health`);
  t.equal(health.status, 200);
  const now = coordinator.inboundStats(watched);
  const later = await coordinator.waitForPackets(watched, 10, { from: now.packets });
  t.ok(later.bytes > now.bytes, `observer still receives (${now.packets} → ${later.packets} packets)`);
  const room = ctx.app.rooms.getRoom(sessionId)!;
  t.same(room.peers().map((p) => p.role).sort(), ['jury', 'mentor', 'observer', 'student']);
});

function roomsCount(ctx: TestApp, ids: string[]): number {
  return ids.filter((id) => ctx.app.io.of('/rooms').adapter.rooms.has(`session:${id}`)).length;
}
