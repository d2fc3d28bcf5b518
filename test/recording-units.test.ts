import t from 'tap';
import { parseRange } from '../src/recording/range.ts';
import { integrityReport } from '../src/recording/report.ts';
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
