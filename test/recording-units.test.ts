import t from 'tap';
import { parseRange } from '../src/recording/range.ts';
import { integrityReport, packetHoles } from '../src/recording/report.ts';
import { buildSdp, containerFor } from '../src/recording/ffmpeg.ts';

t.test('parseRange', async (t) => {
  t.same(parseRange(undefined, 1000), { kind: 'full' });
  t.same(parseRange('bytes=0-99', 1000), { kind: 'partial', start: 0, end: 99 });
  t.same(parseRange('bytes=900-', 1000), { kind: 'partial', start: 900, end: 999 });
  t.same(parseRange('bytes=-100', 1000), { kind: 'partial', start: 900, end: 999 });
  t.same(parseRange('bytes=-5000', 1000), { kind: 'partial', start: 0, end: 999 }, 'a suffix longer than the file is the whole file');
  t.same(parseRange('bytes=500-5000', 1000), { kind: 'partial', start: 500, end: 999 }, 'the end is clamped');
  t.same(parseRange('bytes=1000-', 1000), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=5-4', 1000), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=-0', 1000), { kind: 'unsatisfiable' });
  t.same(parseRange('bytes=0-1,5-6', 1000), { kind: 'full' }, 'several ranges: the whole file');
  t.same(parseRange('items=0-1', 1000), { kind: 'full' }, 'another unit is ignored');
  t.same(parseRange('bytes=abc', 1000), { kind: 'full' });
});

t.test('SDP and container per codec', async (t) => {
  const sdp = buildSdp({ kind: 'audio', mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2, parameters: { useinbandfec: 1 } }, 61000);
  t.match(sdp, /m=audio 61000 RTP\/AVP 100/);
  t.match(sdp, /a=rtcp:61001/);
  t.match(sdp, /a=rtpmap:100 opus\/48000\/2/);
  t.match(sdp, /a=fmtp:100 useinbandfec=1/);
  t.match(buildSdp({ kind: 'video', mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 }, 61002), /a=rtpmap:101 VP8\/90000\n/);
  t.equal(containerFor('video/VP8'), 'webm');
  t.equal(containerFor('audio/opus'), 'webm');
  t.equal(containerFor('video/H264'), 'mkv');
});

const at = (s: number) => new Date(Date.UTC(2026, 10, 29, 10, 0, s));

t.test('integrity report: tracks, gaps between segments, unplayable segments, missing tracks', async (t) => {
  const report = integrityReport({
    session: { startsAt: at(0), endsAt: new Date(at(0).getTime() + 3600_000) },
    recording: { startedAt: at(0), stoppedAt: at(60), stopReason: 'stopped' },
    participants: [
      { userId: 'student', role: 'student' },
      { userId: 'mentor', role: 'mentor' },
    ],
    segments: [
      { id: 'a', userId: 'student', source: 'webcam', kind: 'video', startedAt: at(1), endedAt: at(20), durationMs: 19_000, status: 'ready' },
      { id: 'b', userId: 'student', source: 'webcam', kind: 'video', startedAt: at(22), endedAt: at(60), durationMs: 38_000, status: 'ready' },
      { id: 'c', userId: 'student', source: 'mic', kind: 'audio', startedAt: at(1), endedAt: at(60), durationMs: 59_000, status: 'ready' },
      { id: 'd', userId: 'mentor', source: 'mic', kind: 'audio', startedAt: null, endedAt: at(60), durationMs: null, status: 'empty' },
    ],
    gaps: [{ userId: 'student', source: 'mic', fromAt: at(30), toAt: at(35), reason: 'paused' }],
  });
  t.equal(report.expectedMs, 60_000);
  t.equal(report.scheduledMs, 3600_000);
  t.equal(report.recordedMs, 59_000);
  t.equal(report.sessionCoverage, 0.017);
  t.same(
    report.gaps.map((g) => [g.source, g.reason, g.fromOffsetMs, g.durationMs]),
    [
      ['webcam', 'between_segments', 20_000, 2000],
      ['mic', 'paused', 30_000, 5000],
    ],
  );
  t.same(report.unplayableSegments, [{ segmentId: 'd', userId: 'mentor', source: 'mic', status: 'empty' }]);
  t.same(report.missingTracks, [{ userId: 'mentor', role: 'mentor', missing: ['audio', 'video'] }]);
  t.equal(report.ok, false);
  const webcam = report.tracks.find((x) => x.source === 'webcam')!;
  t.equal(webcam.segments, 2);
  t.equal(webcam.recordedMs, 57_000);
  t.equal(webcam.firstOffsetMs, 1000);
  t.equal(webcam.lastEndOffsetMs, 60_000);
});

t.test('integrity report: a dead recorder makes it not ok; an explained hole is not reported twice', async (t) => {
  const report = integrityReport({
    session: { startsAt: at(0), endsAt: at(59) },
    recording: { startedAt: at(0), stoppedAt: at(40), stopReason: 'server_shutdown' },
    participants: [{ userId: 'student', role: 'student' }],
    segments: [
      { id: 'a', userId: 'student', source: 'mic', kind: 'audio', startedAt: at(0), endedAt: at(10), durationMs: 10_000, status: 'ready' },
      { id: 'b', userId: 'student', source: 'mic', kind: 'audio', startedAt: at(12), endedAt: at(40), durationMs: 28_000, status: 'ready' },
    ],
    gaps: [{ userId: 'student', source: 'mic', fromAt: at(10), toAt: at(12), reason: 'recorder_died' }],
  });
  t.same(report.gaps.map((g) => g.reason), ['recorder_died']);
  t.same(report.missingTracks, [{ userId: 'student', role: 'student', missing: ['video'] }]);
  t.equal(report.stopReason, 'server_shutdown');
  t.equal(report.ok, false);
});

t.test('packet holes: stretches with no packet longer than the threshold', async (t) => {
  const packets = [0, 20, 40, 60, 1500, 1520, 1540, 5000].map((ptsMs) => ({ ptsMs, durationMs: 20 }));
  t.same(packetHoles(packets, 1000), [
    { fromMs: 80, toMs: 1500 },
    { fromMs: 1560, toMs: 5000 },
  ]);
  t.same(packetHoles(packets, 2000), [{ fromMs: 1560, toMs: 5000 }]);
  t.same(packetHoles([], 1000), []);
});

t.test('integrity report: holes from the files are named by their evidence and not counted as recorded', async (t) => {
  const report = integrityReport({
    session: { startsAt: at(0), endsAt: new Date(at(0).getTime() + 3600_000) },
    recording: { startedAt: at(0), stoppedAt: at(60), stopReason: 'stopped' },
    participants: [{ userId: 'student', role: 'student' }],
    segments: [
      {
        id: 'cam1', userId: 'student', source: 'webcam', kind: 'video', startedAt: at(0), endedAt: at(30), durationMs: 30_000, status: 'ready', endReason: 'router_closed',
        holes: [{ from: at(5), to: at(10) }, { from: at(15), to: at(17) }, { from: at(20), to: at(22) }],
        mediaEndAt: at(29),
      },
      { id: 'cam2', userId: 'student', source: 'webcam', kind: 'video', startedAt: at(32), endedAt: at(60), durationMs: 28_000, status: 'ready', endReason: 'stopped', holes: [{ from: at(40), to: at(42) }] },
      { id: 'mic', userId: 'student', source: 'mic', kind: 'audio', startedAt: at(0), endedAt: at(60), durationMs: 60_000, status: 'ready', holes: [{ from: at(5), to: at(10) }] },
    ],
    gaps: [
      { userId: 'student', source: 'all', fromAt: at(4), toAt: at(10), reason: 'participant_network' },
      { userId: 'student', source: 'webcam', fromAt: at(15), toAt: at(17), reason: 'paused' },
      { userId: 'student', source: 'webcam', fromAt: at(23), toAt: at(23), reason: 'layer_switch' },
      { userId: 'student', source: 'mic', fromAt: at(50), toAt: at(51), reason: 'paused' },
    ],
  });
  t.same(
    report.gaps.map((g) => [g.source, g.reason, g.fromOffsetMs, g.durationMs]),
    [
      ['webcam', 'participant_network', 5000, 5000],
      ['mic', 'participant_network', 5000, 5000],
      ['webcam', 'paused', 15_000, 2000],
      ['webcam', 'layer_switch', 20_000, 2000],
      ['webcam', 'worker_restart', 29_000, 3000],
      ['webcam', 'no_media', 40_000, 2000],
      ['mic', 'paused', 50_000, 1000],
    ],
  );
  const webcam = report.tracks.find((x) => x.source === 'webcam')!;
  t.equal(webcam.holeMs, 11_000);
  t.equal(webcam.recordedMs, 58_000 - 11_000, 'holes inside the files are not recorded time');
  t.equal(webcam.lastEndOffsetMs, 60_000);
  t.equal(report.tracks.find((x) => x.source === 'mic')!.recordedMs, 55_000);
  t.equal(report.ok, true);
});

t.test('integrity report: the hole between a dead node\'s last segment and the survivor\'s first is named node_lost', async (t) => {
  const report = integrityReport({
    session: { startsAt: at(0), endsAt: new Date(at(0).getTime() + 3600_000) },
    recording: { startedAt: at(0), stoppedAt: at(60), stopReason: 'stopped' },
    participants: [{ userId: 'student', role: 'student' }],
    segments: [
      // The dead node's segment: no end of its own (processing reads it from the media), ended by node_lost.
      { id: 'cam1', userId: 'student', source: 'webcam', kind: 'video', startedAt: at(0), endedAt: at(20), durationMs: 20_000, status: 'ready', endReason: 'node_lost' },
      { id: 'cam2', userId: 'student', source: 'webcam', kind: 'video', startedAt: at(32), endedAt: at(60), durationMs: 28_000, status: 'ready', endReason: 'stopped' },
    ],
    gaps: [{ userId: 'student', source: 'all', fromAt: at(20), toAt: at(31), reason: 'node_lost' }],
  });
  t.same(
    report.gaps.map((g) => [g.source, g.reason, g.fromOffsetMs, g.durationMs]),
    [['webcam', 'node_lost', 20_000, 12_000]],
  );
});

t.test('a segment start from the worker clock: RTP timestamp deltas across a wrap, delivery delay taken off', async (t) => {
  const { rtpTimestampDelta, sentAt } = await import('../src/recording/track-recorder.ts');
  t.equal(rtpTimestampDelta(1000, 400), 600);
  t.equal(rtpTimestampDelta(200, 2 ** 32 - 100), 300, 'across the 32-bit wrap');
  t.equal(rtpTimestampDelta(400, 1000), -600, 'an earlier packet (reordered) is negative');
  const now = new Date('2026-12-01T10:00:00.000Z');
  const hrMs = Number(process.hrtime.bigint() / 1_000_000n);
  const at = sentAt(now, hrMs - 250).getTime();
  t.ok(now.getTime() - at >= 250 && now.getTime() - at < 300, `an event stamped 250 ms ago by the worker's clock is dated 250 ms back (${now.getTime() - at} ms)`);
  t.equal(sentAt(now, hrMs + 60_000).getTime(), now.getTime(), 'a stamp from the future is not trusted');
  t.equal(sentAt(now, hrMs - 60_000).getTime(), now.getTime(), 'nor one from a minute ago');
});
