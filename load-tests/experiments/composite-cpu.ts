/**
 * CPU time of the composite job per minute of recording (BENCHMARKS.md).
 *
 *   node load-tests/experiments/composite-cpu.ts [seconds=60] [layout=share|grid]
 *
 * Makes the per-track files of a typical mentoring session with FFmpeg's
 * lavfi (two cameras at 640×360, two microphones, and in `share` a 1280×720
 * screen share over the middle third, so the layout changes twice), renders
 * them with the composite job's own FFmpeg command (src/recording/composite-plan.ts),
 * and reads FFmpeg's own CPU accounting (`-benchmark`: user + system time of
 * the process, every thread) from its output. The encoding of the fixtures is
 * not counted.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chaptersMetadata, compositeCommand, type PlanSegment } from '../../src/recording/composite-plan.ts';

const seconds = Number(process.argv[2] ?? 60);
const layout = process.argv[3] ?? 'share';
const dir = mkdtempSync(join(tmpdir(), 'ml-composite-bench-'));
const ms = seconds * 1000;

function encode(name: string, args: string[]): string {
  const path = join(dir, name);
  const r = spawnSync('ffmpeg', ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args, '-y', path]);
  if (r.status !== 0) throw new Error(`fixture ${name}: ${r.stderr}`);
  return path;
}
const vp8 = ['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '600k', '-g', '60'];
const segments: PlanSegment[] = [
  { id: 'cam-a', userId: 'a', source: 'webcam', kind: 'video', offsetMs: 0, durationMs: ms, path: encode('cam-a.webm', ['-f', 'lavfi', '-i', `testsrc=size=640x360:rate=30:duration=${seconds}`, ...vp8]) },
  { id: 'cam-b', userId: 'b', source: 'webcam', kind: 'video', offsetMs: 0, durationMs: ms, path: encode('cam-b.webm', ['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${seconds}`, ...vp8]) },
  { id: 'mic-a', userId: 'a', source: 'mic', kind: 'audio', offsetMs: 0, durationMs: ms, path: encode('mic-a.webm', ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-c:a', 'libopus', '-ac', '2']) },
  { id: 'mic-b', userId: 'b', source: 'mic', kind: 'audio', offsetMs: 0, durationMs: ms, path: encode('mic-b.webm', ['-f', 'lavfi', '-i', `sine=frequency=660:sample_rate=48000:duration=${seconds}`, '-c:a', 'libopus', '-ac', '2']) },
];
if (layout === 'share') {
  const third = Math.round(seconds / 3);
  segments.push({
    id: 'screen-a',
    userId: 'a',
    source: 'screen',
    kind: 'video',
    offsetMs: third * 1000,
    durationMs: third * 1000,
    path: encode('screen-a.webm', ['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=15:duration=${third}`, ...vp8]),
  });
}
const chaptersPath = join(dir, 'chapters.txt');
writeFileSync(chaptersPath, chaptersMetadata(ms, [{ startMs: 0, title: 'Start' }]));
const { args, pieces } = compositeCommand({ durationMs: ms, segments, gaps: [], chaptersPath, outPath: join(dir, 'out.mp4') });

const started = performance.now();
const stderr = await new Promise<string>((resolve, reject) => {
  const child = spawn('ffmpeg', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-8000)));
  child.once('error', reject);
  child.once('close', (code) => (code === 0 ? resolve(err) : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-1000)}`))));
});
const wallS = (performance.now() - started) / 1000;
const bench = /bench: utime=([\d.]+)s stime=([\d.]+)s/.exec(stderr);
rmSync(dir, { recursive: true, force: true });
if (!bench) throw new Error('no -benchmark line in the output');
const cpuS = Number(bench[1]) + Number(bench[2]);
const result = {
  recordingSeconds: seconds,
  layout,
  inputs: pieces.length,
  cpuSeconds: Math.round(cpuS * 10) / 10,
  cpuSecondsPerRecordedMinute: Math.round((cpuS / (seconds / 60)) * 10) / 10,
  wallSeconds: Math.round(wallS * 10) / 10,
  realtimeFactor: Math.round((seconds / wallS) * 100) / 100,
  cores: cpus().length,
  loadAverage1m: Math.round(Number((await import('node:os')).loadavg()[0]) * 100) / 100,
};
console.log(JSON.stringify(result, null, 2));
