import t from 'tap';
import { spawn } from 'node:child_process';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probePackets } from '../src/recording/ffmpeg.ts';
import { TrackRecorder, type SegmentInfo } from '../src/recording/track-recorder.ts';
import { createRouter, recorderPool, startRtpSender, until } from './helpers/recording-media.ts';

const opus = { kind: 'audio', mimeType: 'audio/opus', payloadType: 100, clockRate: 48000, channels: 2 } as const;
const vp8 = { kind: 'video', mimeType: 'video/VP8', payloadType: 101, clockRate: 90000 } as const;
const h264 = { kind: 'video', mimeType: 'video/H264', payloadType: 107, clockRate: 90000, parameters: { 'packetization-mode': 1 } } as const;

/** Whether a process runs (a zombie nobody reaped yet, as in a container without init, does not). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

t.test('spares: one per recorder in use, up to the cap; they wait as long as it takes; none a while after nothing records', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-pool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pool = recorderPool(t, 2, 1000);
  const stopAll = async (...recorders: Array<{ ffmpeg: { kill(): void; exited: Promise<unknown> }; release(): Promise<void> }>) => {
    for (const r of recorders) {
      r.ffmpeg.kill();
      await r.ffmpeg.exited;
      await r.release();
    }
  };
  t.equal(pool.spareCount, 0, 'no spare before anything records');
  const first = await pool.acquire(opus, join(dir, 'a.webm'));
  t.equal(first.spare, false, 'the first recorder starts when asked for');
  t.equal(pool.spareCount, 1, 'one spare for one recorder in use');
  const [sparePid] = pool.sparePids();
  // Longer than FFmpeg's 10 s without a packet: a spare has no port yet, so nothing times out.
  await new Promise((r) => setTimeout(r, 11_000));
  t.ok(alive(sparePid!), 'the spare still waits after 11 s');
  const second = await pool.acquire(vp8, join(dir, 'b.webm'));
  t.equal(second.spare, true, 'the next one (another codec, the same WebM container) is the spare');
  t.equal(second.ffmpeg.child.pid, sparePid);
  t.equal(pool.spareCount, 2, 'two spares for two recorders in use');
  const third = await pool.acquire(opus, join(dir, 'c.webm'));
  t.equal(third.spare, true);
  t.equal(pool.spareCount, 2, 'never more than the cap');
  const mkv = await pool.acquire(h264, join(dir, 'd.mkv'));
  t.equal(mkv.spare, false, 'a WebM spare never serves a Matroska file');
  const spares = pool.sparePids();
  await stopAll(first, second, third, mkv);
  t.equal(pool.spareCount, 3, 'spares outlive their recorders for a while (a worker restart re-creates its tracks)');
  await until(() => pool.spareCount === 0 && spares.every((pid) => !alive(pid)), 10_000, 'spares stopped once nothing records');
});

t.test('a spare records into the file it is given, and leaves nothing behind', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-pool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { router } = await createRouter(t);
  const pool = recorderPool(t, 1);
  const audio = await startRtpSender(t, router, 'audio');
  const started: SegmentInfo[] = [];
  const rec = await TrackRecorder.start({ router, producer: audio.producer, dir, baseName: 'mic', recorders: pool, listener: { onSegmentStarted: (s) => started.push(s) } });
  t.teardown(() => rec.stop());
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1000, 20_000, 'recording');
  const [sparePid] = pool.sparePids();
  // The recorder dies: its replacement is the spare.
  rec.ffmpeg!.kill();
  await until(() => started.length === 2, 15_000, 'second segment');
  t.equal(rec.ffmpeg!.child.pid, sparePid, 'the replacement is the spare that was waiting');
  await until(() => (rec.ffmpeg?.lastProgress?.outTimeMs ?? 0) >= 1500, 15_000, 'second segment progress');
  await rec.stop();
  const second = rec.segments[1]!;
  t.equal(second.path, join(dir, 'mic-1.webm'), 'the segment keeps its own name in the recording folder');
  t.notOk(lstatSync(second.path).isSymbolicLink(), 'a regular file, not a link');
  const packets = await probePackets('ffprobe', second.path);
  t.ok(packets.length >= 50, `the spare's file holds the media (${packets.length} packets)`);
  t.same(readdirSync(dir).sort(), ['mic-0.webm', 'mic-1.webm'], 'nothing else in the recording folder');
});

t.test('a spare ends with its server, even one killed with SIGKILL', async (t) => {
  // A server process (Node, the pool as the server builds it) that prints its spare's pid.
  const script = `
    import { RecorderPool } from ${JSON.stringify(join(process.cwd(), 'src/recording/recorder-pool.ts'))};
    const pool = new RecorderPool({ ffmpegPath: 'ffmpeg', portRange: { min: 61000, max: 64999 }, sparesPerContainer: 1 });
    await pool.acquire(${JSON.stringify(opus)}, ${JSON.stringify(join(tmpdir(), `ml-pool-${process.pid}.webm`))});
    console.log(pool.sparePids()[0]);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  const sparePid = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8').once('data', (d: string) => resolve(Number(d.trim())));
    child.once('exit', (code) => reject(new Error(`the server exited (${code}) before it had a spare`)));
  });
  t.ok(alive(sparePid), 'the spare waits');
  child.kill('SIGKILL');
  await until(() => !alive(sparePid), 5000, 'the spare gone with its server');
  rmSync(join(tmpdir(), `ml-pool-${process.pid}.webm`), { force: true });
});
