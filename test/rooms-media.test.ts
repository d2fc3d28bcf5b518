import t from 'tap';
import { startTestApp } from './helpers/app.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { joinLiveMentoring } from './helpers/werift-mentoring.ts';
import { WeriftPeer } from '../support/werift-peer.ts';
import { weriftRtpCapabilities } from '../support/werift-peer.ts';

t.test('a real werift peer produces VP8 and Opus; another consumes them and receives rising packets', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const sessionId = await insertLiveMentoring(ctx.db, demo);
  const presence: string[] = [];
  ctx.app.events.on('room.presence', (e) => {
    if (e.sessionId === sessionId) presence.push(`${e.userId === demo.student.id ? 'student' : 'mentor'} ${e.type}${e.source ? ` ${e.source}` : ''}`);
  });
  const student = await WeriftPeer.connect(ctx.url, await ctx.login(demo.student));
  const mentor = await WeriftPeer.connect(ctx.url, await ctx.login(demo.mentor));
  t.teardown(() => student.close());
  t.teardown(() => mentor.close());

  const joined = await student.join(sessionId);
  t.equal(joined.userId, demo.student.id);
  t.equal(joined.role, 'student');
  t.same(joined.peers, []);
  t.same(joined.iceServers, []);
  t.ok(joined.routerRtpCapabilities.codecs?.some((c) => c.mimeType === 'video/H264'), 'router offers H264');

  const peerJoined = student.nextEvent('peerJoined');
  const mentorJoin = await mentor.join(sessionId);
  t.equal((await peerJoined).peer.userId, demo.mentor.id);
  t.equal(mentorJoin.peers.length, 1);

  const announced = mentor.nextEvent('newProducer', (p: any) => p.source === 'webcam');
  const video = await student.produce('video', 'webcam');
  const audio = await student.produce('audio', 'mic');
  const news = await announced;
  t.match(news, { peerId: joined.peerId, userId: demo.student.id, producerId: video.producerId, kind: 'video', source: 'webcam' });

  const room = ctx.app.rooms.getRoom(sessionId)!;
  t.ok(room, 'app.rooms knows the room');
  t.same(
    room.listProducers().map((p) => p.source).sort(),
    ['mic', 'webcam'],
  );

  const v = await mentor.consume(video.producerId);
  const a = await mentor.consume(audio.producerId);
  t.equal(v.kind, 'video');
  t.equal(a.kind, 'audio');
  t.equal(v.userId, demo.student.id);

  const v1 = await mentor.waitForPackets(v.consumerId, 20);
  const a1 = await mentor.waitForPackets(a.consumerId, 20);
  const v2 = await mentor.waitForPackets(v.consumerId, 20, { from: v1.packets });
  const a2 = await mentor.waitForPackets(a.consumerId, 20, { from: a1.packets });
  t.ok(v2.packets > v1.packets && v2.bytes > v1.bytes, `video packets ${v1.packets}→${v2.packets}, bytes ${v1.bytes}→${v2.bytes}`);
  t.ok(a2.packets > a1.packets && a2.bytes > a1.bytes, `audio packets ${a1.packets}→${a2.packets}, bytes ${a1.bytes}→${a2.bytes}`);

  const stats = await mentor.request<any[]>('getTransportStats', { transportId: v.transportId });
  t.ok(stats.length > 0 && stats[0].bytesSent > 0, 'server-side transport stats show bytes sent');

  // Pause and resume are announced; ICE restarts on request.
  const paused = mentor.nextEvent('producerPaused');
  await student.request('pauseProducer', { producerId: audio.producerId });
  t.same(await paused, { producerId: audio.producerId, peerId: joined.peerId });
  const resumed = mentor.nextEvent('producerResumed');
  await student.request('resumeProducer', { producerId: audio.producerId });
  t.same(await resumed, { producerId: audio.producerId, peerId: joined.peerId });
  const restarted = await mentor.request<{ iceParameters: { usernameFragment: string; password: string } }>('restartIce', { transportId: v.transportId });
  t.ok(restarted.iceParameters.usernameFragment && restarted.iceParameters.password, 'restartIce returns new ICE parameters');
  t.equal(await mentor.request('setPreferredLayers', { consumerId: a.consumerId, spatialLayer: 0 }).catch((e) => e.code), 'not_layered');

  // Closing a producer tells the consumer side.
  const closed = mentor.nextEvent('consumerClosed', (e: any) => e.consumerId === v.consumerId);
  const producerClosed = mentor.nextEvent('producerClosed', (e: any) => e.producerId === video.producerId);
  await student.request('closeProducer', { producerId: video.producerId });
  await closed;
  await producerClosed;
  t.same(room.listProducers().map((p) => p.source), ['mic']);
  for (const expected of ['student join', 'mentor join', 'student producer_started webcam', 'student producer_started mic', 'student transport_connected', 'mentor transport_connected', 'student producer_stopped webcam']) {
    t.ok(presence.includes(expected), `presence: ${expected}`);
  }
});

t.test('VP8 simulcast: three encodings make a simulcast consumer whose layers can be chosen', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const { student, mentor, mentorJoin: joined } = await joinLiveMentoring(t, ctx);
  const send = await student.request<{ transportId: string }>('createTransport', { direction: 'send' });
  const { producerId } = await student.request<{ producerId: string }>('produce', {
    transportId: send.transportId,
    kind: 'video',
    rtpParameters: {
      mid: '0',
      codecs: [{ mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, rtcpFeedback: [{ type: 'nack' }, { type: 'nack', parameter: 'pli' }] }],
      headerExtensions: [],
      encodings: [
        { ssrc: 1111, scaleResolutionDownBy: 4, maxBitrate: 150_000 },
        { ssrc: 2222, scaleResolutionDownBy: 2, maxBitrate: 500_000 },
        { ssrc: 3333, maxBitrate: 1_500_000 },
      ],
      rtcp: { cname: 'simulcast-test', reducedSize: true },
    },
    appData: { source: 'webcam' },
  });
  const recv = await mentor.request<{ transportId: string }>('createTransport', { direction: 'recv' });
  const consumer = await mentor.request<{ consumerId: string; type: string; producerPaused: boolean; appData: { source: string; userId: string } }>('consume', {
    transportId: recv.transportId,
    producerId,
    rtpCapabilities: weriftRtpCapabilities(joined.routerRtpCapabilities),
  });
  t.equal(consumer.type, 'simulcast');
  t.same(consumer.appData, { source: 'webcam', userId: demo.student.id });
  t.same(await mentor.request('setPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: 1, temporalLayer: 0 }), {});
  t.same(await mentor.request('setPreferredLayers', { consumerId: consumer.consumerId, spatialLayer: 2 }), {});
  t.same(await mentor.request('pauseConsumer', { consumerId: consumer.consumerId }), {});
  t.same(await mentor.request('resumeConsumer', { consumerId: consumer.consumerId }), {});

  // H264 (constrained baseline, packetization-mode 1) is routed too.
  const screenTransport = await student.request<{ transportId: string }>('createTransport', { direction: 'send' });
  const h264 = await student.request<{ producerId: string }>('produce', {
    transportId: screenTransport.transportId,
    kind: 'video',
    rtpParameters: {
      mid: '1',
      codecs: [{ mimeType: 'video/H264', payloadType: 102, clockRate: 90000, parameters: { 'packetization-mode': 1, 'profile-level-id': '42e01f', 'level-asymmetry-allowed': 1 }, rtcpFeedback: [] }],
      headerExtensions: [],
      encodings: [{ ssrc: 4444 }],
      rtcp: { cname: 'h264-test', reducedSize: true },
    },
    appData: { source: 'screen' },
  });
  const h264Caps = joined.routerRtpCapabilities.codecs!.filter((c) => c.mimeType === 'video/H264' && c.parameters?.['profile-level-id'] === '42e01f');
  t.equal(h264Caps.length, 1);
  const h264Consumer = await mentor.request<{ rtpParameters: { codecs: Array<{ mimeType: string }> }; appData: { source: string } }>('consume', {
    transportId: recv.transportId,
    producerId: h264.producerId,
    rtpCapabilities: { codecs: h264Caps, headerExtensions: [] },
  });
  t.equal(h264Consumer.rtpParameters.codecs[0]!.mimeType, 'video/H264');
  t.equal(h264Consumer.appData.source, 'screen');
});

t.test('the active speaker is announced from the audio levels', async (t) => {
  const ctx = await startTestApp(t);
  const { demo } = ctx;
  const { student, mentor } = await joinLiveMentoring(t, ctx);
  const studentSpeaks = mentor.nextEvent('activeSpeaker', (e: any) => e.userId === demo.student.id, 20_000);
  const studentMic = await student.produce('audio', 'mic', { audioLevel: 10 });
  t.same(await studentSpeaks, { userId: demo.student.id });
  // The student falls silent and the mentor starts talking: the dominant speaker moves.
  const mentorSpeaks = student.nextEvent('activeSpeaker', (e: any) => e.userId === demo.mentor.id, 20_000);
  student.setAudioLevel(studentMic.producerId, 127);
  await mentor.produce('audio', 'mic', { audioLevel: 5 });
  t.same(await mentorSpeaks, { userId: demo.mentor.id });
  // When the speaker's mic closes, nobody is the active speaker.
  const nobody = student.nextEvent('activeSpeaker', (e: any) => e.userId === null);
  await mentor.request('closeProducer', { producerId: mentor.outbound()[0]!.producerId });
  t.same(await nobody, { userId: null });
});
