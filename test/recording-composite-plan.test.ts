import t from 'tap';
import { arrange, chaptersMetadata, compositeCommand, layoutTimeline, pieces, visibleIntervals, type PlanSegment } from '../src/recording/composite-plan.ts';
import { currentComment, formatPosition } from '../src/web/client/replay-view.ts';
import { MediaLinks } from '../src/recording/media-link.ts';

const seg = (id: string, source: string, offsetMs: number, durationMs: number, userId = id): PlanSegment => ({
  id,
  userId,
  source,
  kind: source === 'mic' ? 'audio' : 'video',
  path: `/r/${id}.webm`,
  offsetMs,
  durationMs,
});

t.test('layout: cameras in a grid, a screen share large with the cameras beside it', async (t) => {
  t.same(arrange([seg('a', 'webcam', 0, 1)], 1280, 720), [{ segmentId: 'a', x: 0, y: 0, w: 1280, h: 720 }], 'one camera fills the frame');
  const two = arrange([seg('a', 'webcam', 0, 1), seg('b', 'webcam', 0, 1)], 1280, 720);
  t.same(two.map((r) => [r.x, r.y, r.w, r.h]), [[0, 0, 640, 720], [640, 0, 640, 720]], 'two cameras side by side');
  const three = arrange([seg('a', 'webcam', 0, 1), seg('b', 'webcam', 0, 1), seg('c', 'webcam', 0, 1)], 1280, 720);
  t.same(three.map((r) => [r.x, r.y, r.w, r.h]), [[0, 0, 640, 360], [640, 0, 640, 360], [320, 360, 640, 360]], 'a 2×2 grid, the last row centred');
  const shared = arrange([seg('a', 'webcam', 0, 1), seg('s', 'screen', 0, 1), seg('b', 'webcam', 0, 1)], 1280, 720);
  t.same(shared[0], { segmentId: 's', x: 0, y: 0, w: 960, h: 720 }, 'the screen share takes the large area');
  t.same(shared.slice(1).map((r) => [r.segmentId, r.x, r.w]), [['a', 960, 320], ['b', 960, 320]], 'cameras in the column beside it');
  t.ok(shared.slice(1).every((r) => r.y >= 0 && r.y + r.h <= 720));
  t.same(arrange([], 1280, 720), []);
});

t.test('the layout follows who is visible: late joiners, pauses, a screen share that starts and stops', async (t) => {
  const segments = [seg('a', 'webcam', 0, 10_000, 'ua'), seg('b', 'webcam', 2_000, 8_000, 'ub'), seg('s', 'screen', 4_000, 2_000, 'ua')];
  const gaps = [{ userId: 'ub', source: 'webcam', fromMs: 7_000, toMs: 8_000, reason: 'paused' }];
  const spans = layoutTimeline(10_000, segments, gaps, 1280, 720);
  t.same(
    spans.map((s) => [s.fromMs, s.toMs, s.tiles.map((x) => x.segmentId).join('')]),
    [
      [0, 2_000, 'a'],
      [2_000, 4_000, 'ab'],
      [4_000, 6_000, 'sab'],
      [6_000, 7_000, 'ab'],
      [7_000, 8_000, 'a'],
      [8_000, 10_000, 'ab'],
    ],
  );
  const all = pieces(10_000, [...segments, seg('m', 'mic', 500, 9_000, 'ua')], [...gaps, { userId: 'ua', source: 'mic', fromMs: 3_000, toMs: 5_000, reason: 'paused' }], 1280, 720);
  const ofA = all.filter((p) => p.segmentId === 'a');
  t.same(ofA.map((p) => [p.fromMs, p.toMs, p.fileFromMs]), [[0, 2_000, 0], [2_000, 4_000, 2_000], [4_000, 6_000, 4_000], [6_000, 7_000, 6_000], [7_000, 8_000, 7_000], [8_000, 10_000, 8_000]], 'a camera piece per layout change, at its file position');
  const ofB = all.filter((p) => p.segmentId === 'b');
  t.same(ofB.map((p) => [p.fromMs, p.fileFromMs]), [[2_000, 0], [4_000, 2_000], [6_000, 4_000], [8_000, 6_000]], 'the paused stretch is left out, file positions follow the offset');
  const mic = all.filter((p) => p.kind === 'audio');
  t.same(mic.map((p) => [p.fromMs, p.toMs, p.fileFromMs]), [[500, 3_000, 0], [5_000, 9_500, 4_500]], 'the muted stretch of the mic is silence');
  t.same([...visibleIntervals(5_000, [seg('x', 'webcam', 4_000, 3_000)], []).values()], [[[4_000, 5_000]]], 'clipped to the recording');
});

t.test('FFmpeg command and chapters', async (t) => {
  const cmd = compositeCommand({
    durationMs: 10_000,
    segments: [seg('a', 'webcam', 1_000, 5_000), seg('m', 'mic', 0, 9_000)],
    gaps: [],
    chaptersPath: '/r/ch.txt',
    outPath: '/r/out.mp4',
  });
  const args = cmd.args.join(' ');
  t.match(args, /-ss 0\.000 -t 5\.000 -i \/r\/a\.webm/);
  t.match(args, /setpts=PTS\+1\.000\/TB/);
  t.match(args, /adelay=delays=0:all=1/);
  t.match(args, /-c:v libx264/);
  t.match(args, /-c:a aac/);
  t.match(args, /-movflags \+faststart/);
  t.match(args, /-t 10\.000/);
  t.match(args, /-map_chapters 2/);
  // A video file whose first frame comes 400 ms after its time 0 (the recorder waits for a keyframe).
  const late = compositeCommand({ durationMs: 10_000, segments: [{ ...seg('v', 'webcam', 1_000, 5_000), fileStartMs: 400 }], gaps: [], chaptersPath: 'c', outPath: 'o' }).args.join(' ');
  t.match(late, /-ss 0\.000 -t 4\.600 -i \/r\/v\.webm/, 'read from the first frame to the end of the piece');
  t.match(late, /setpts=PTS\+1\.400\/TB/, 'placed where the first frame belongs');
  const noAudio = compositeCommand({ durationMs: 3_000, segments: [], gaps: [], chaptersPath: 'c', outPath: 'o' }).args.join(' ');
  t.match(noAudio, /anullsrc=r=48000:cl=stereo,atrim=end=3\.000\[a\]/, 'silence when nobody had a microphone');

  const meta = chaptersMetadata(10_000, [
    { startMs: 4_000, title: 'Comment; a=b #1' },
    { startMs: 0, title: 'Phase: Presentation' },
    { startMs: 4_000, title: 'Second\nline' },
    { startMs: 12_000, title: 'after the end' },
  ]);
  t.equal(
    meta,
    [
      ';FFMETADATA1',
      '[CHAPTER]', 'TIMEBASE=1/1000', 'START=0', 'END=4000', 'title=Phase: Presentation',
      '[CHAPTER]', 'TIMEBASE=1/1000', 'START=4000', 'END=4001', 'title=Comment\\; a\\=b \\#1',
      '[CHAPTER]', 'TIMEBASE=1/1000', 'START=4001', 'END=10000', 'title=Second line',
      '',
    ].join('\n'),
  );
});

t.test('replay page helpers', async (t) => {
  t.equal(formatPosition(0), '0:00');
  t.equal(formatPosition(65_400), '1:05');
  t.equal(formatPosition(3_725_000), '1:02:05');
  const comments = [{ offsetMs: 1_000 }, { offsetMs: 5_000 }, { offsetMs: 9_000 }];
  t.equal(currentComment(comments, 500), -1);
  t.equal(currentComment(comments, 1_000), 0);
  t.equal(currentComment(comments, 8_900), 2, 'a comment a moment ahead counts (seeking lands slightly early)');
  t.equal(currentComment(comments, 7_000), 1);
});

t.test('signed media links: bound to the recording and the viewer, expiring, not forgeable', async (t) => {
  const links = new MediaLinks('a-secret-that-is-long-enough-for-the-test-0123456789');
  const now = Date.parse('2026-12-01T10:00:00Z');
  const claims = { recordingId: 'r1', userId: 'u1', role: 'student' as const, expiresAt: now / 1000 + 60 };
  const q = Object.fromEntries(new URLSearchParams(links.sign(claims)));
  t.same(links.verify('r1', q, now), claims);
  t.equal(links.verify('r2', q, now), undefined, 'another recording');
  t.equal(links.verify('r1', { ...q, u: 'u2' }, now), undefined, 'another viewer');
  t.equal(links.verify('r1', { ...q, r: 'coordinator' }, now), undefined, 'a raised role');
  t.equal(links.verify('r1', q, now + 61_000), undefined, 'expired');
  t.equal(links.verify('r1', { ...q, e: String(claims.expiresAt + 3600) }, now), undefined, 'a longer expiry');
  t.equal(links.verify('r1', { ...q, s: undefined }, now), undefined);
  t.equal(new MediaLinks('another-secret-that-is-long-enough-0123456789').verify('r1', q, now), undefined, 'another server secret');
});
