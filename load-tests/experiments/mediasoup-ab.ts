/**
 * A/B of two mediasoup versions (each its own Node package and worker binary)
 * as bare workers under the same load, in the same run, alternating: the
 * media part's feed (VP8 ~500 kb/s + Opus from FFmpeg) and `subscribers`
 * PlainTransports with SRTP (2 consumers each) to a UDP sink; worker CPU over
 * a window. A is the project's mediasoup; B is the package at
 * BENCH_MEDIASOUP_B (a mediasoup folder inside a node_modules tree, worker
 * built in it, e.g. a checkout before a version bump: <it>/node_modules/mediasoup).
 *   BENCH_MEDIASOUP_B=/path/node_modules/mediasoup node load-tests/experiments/mediasoup-ab.ts [subscribers=400] [rounds=2] [windowS=5]
 * Capacity is extrapolated linearly from CPU per consumer to 85 % of a core
 * (the media part's limit; its ramp shows CPU growing linearly with consumers).
 */
import { SINK_SCRIPT, startServer } from '../lib/child.ts';
import { sleep } from '../lib/stats.ts';

const subscribersPerRun = Number(process.argv[2] ?? 400);
const rounds = Number(process.argv[3] ?? 2);
const windowS = Number(process.argv[4] ?? 5);
const other = process.env.BENCH_MEDIASOUP_B;
if (!other) throw new Error('BENCH_MEDIASOUP_B=<folder of the other mediasoup package> is required');
const CPU_LIMIT = 85;

interface Sample {
  version: string;
  round: number;
  consumers: number;
  workerCpuPercent: number;
  packetsPerSecond: number;
  loss: number;
}

const sink = await startServer({ script: SINK_SCRIPT });
const sinkPorts = await sink.call<number[]>('open', { count: 4 });
const samples: Sample[] = [];
try {
  for (let round = 0; round < rounds; round++) {
    // Alternate which version goes first, so a drift in the machine's load favours neither.
    const order = round % 2 === 0 ? [undefined, other] : [other, undefined];
    for (const module of order) {
      if (module) process.env.BENCH_MEDIASOUP_MODULE = module;
      else delete process.env.BENCH_MEDIASOUP_MODULE;
      const server = await startServer({ mode: 'bare-media' });
      try {
        const version = await server.call<string>('media:version');
        await server.call('media:start', { seconds: 120 });
        let consumers = 0;
        for (let added = 0; added < subscribersPerRun; added += 100) {
          consumers = (await server.call<{ consumers: number }>('media:add', { n: Math.min(100, subscribersPerRun - added), sinkPorts })).consumers;
        }
        await sleep(1500); // new video consumers wait for a keyframe (one a second)
        await sink.call('reset');
        await server.mark();
        await sleep(windowS * 1000);
        const [stats, report] = await Promise.all([server.stats(), sink.call<{ received: number; expected: number; lost: number }>('report')]);
        const sample: Sample = {
          version,
          round,
          consumers,
          workerCpuPercent: stats.workers.reduce((m, w) => Math.max(m, w.cpuPercent), 0),
          packetsPerSecond: report.received / (stats.elapsedMs / 1000),
          loss: report.expected > 0 ? report.lost / report.expected : 0,
        };
        samples.push(sample);
        console.log(
          `round ${round + 1}: mediasoup ${version}: ${consumers} consumers, worker ${sample.workerCpuPercent.toFixed(1)} % CPU, ${Math.round(sample.packetsPerSecond)} pkt/s out, loss ${(sample.loss * 100).toFixed(2)} %`,
        );
      } finally {
        await server.call('media:stop').catch(() => undefined);
        await server.close();
      }
    }
  }
} finally {
  await sink.close();
}

const versions = [...new Set(samples.map((s) => s.version))];
const summary = versions.map((version) => {
  const mine = samples.filter((s) => s.version === version);
  const cpuPer100 = mine.reduce((sum, s) => sum + (s.workerCpuPercent / s.consumers) * 100, 0) / mine.length;
  return { version, cpuPer100, capacity: (CPU_LIMIT / cpuPer100) * 100, rounds: mine.map((s) => ({ cpuPer100: (s.workerCpuPercent / s.consumers) * 100, capacity: (CPU_LIMIT / s.workerCpuPercent) * s.consumers })) };
});
const [a, b] = summary;
console.log(JSON.stringify({ subscribersPerRun, windowS, samples, summary }, null, 2));
if (a && b) console.log(`\n${a.version} ÷ ${b.version}: consumers per worker ${(a.capacity / b.capacity).toFixed(2)}×, worker CPU per consumer ${(a.cpuPer100 / b.cpuPer100).toFixed(2)}×`);
