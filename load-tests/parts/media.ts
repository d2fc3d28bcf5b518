import { io } from 'socket.io-client';
import { SINK_SCRIPT, startServer, type ServerHandle } from '../lib/child.ts';
import { row, type Row } from '../lib/report.ts';
import { sleep } from '../lib/stats.ts';
import type { Part, PartContext } from './context.ts';

interface Step {
  consumers: number;
  workerCpuPercent: number;
  nodeCpuPercent: number;
  lossRatio: number;
  packetsPerSecond: number;
}
interface Capacity {
  steps: Step[];
  /** Consumers at which the worker reached the CPU threshold (interpolated) or loss appeared. */
  capacity: number;
  /** 'cpu' also when the worker stopped answering its control channel in time while consumers were added. */
  limitedBy: 'cpu' | 'loss' | 'max-steps';
}

const CPU_LIMIT = 85;
const LOSS_LIMIT = 0.01;

/** Grows subscribers (2 consumers each: VP8 + Opus) until the worker passes CPU_LIMIT % or loss appears. */
async function ramp(ctx: PartContext, label: string, server: ServerHandle, sink: ServerHandle, sinkPorts: number[], opts: { stepSubscribers: number; maxSubscribers: number; windowS: number }): Promise<Capacity> {
  const steps: Step[] = [];
  let limitedBy: Capacity['limitedBy'] = 'max-steps';
  let consumers = 0;
  for (let subs = 0; subs < opts.maxSubscribers; ) {
    // Smaller steps near the limit: a saturated worker answers its control channel late.
    const lastCpu = steps.at(-1)?.workerCpuPercent ?? 0;
    const stepSize = lastCpu > 60 ? Math.max(1, Math.round(opts.stepSubscribers / 2)) : opts.stepSubscribers;
    const add = Math.min(stepSize, opts.maxSubscribers - subs);
    const r = await Promise.race([
      server.call<{ subscribers: number; consumers: number }>('media:add', { n: add, sinkPorts }),
      sleep(20_000).then(() => undefined),
    ]);
    if (!r) {
      // 20 s to create a few transports: the worker no longer keeps up (saturated).
      ctx.log(`  ${label}: adding ${add} subscribers took over 20 s: the worker is saturated`);
      limitedBy = 'cpu';
      break;
    }
    subs = r.subscribers;
    consumers = r.consumers;
    await sleep(1500); // new video consumers wait for a keyframe (one a second)
    await sink.call('reset');
    await server.mark();
    await sleep(opts.windowS * 1000);
    const [stats, report] = await Promise.all([server.stats(), sink.call<{ received: number; expected: number; lost: number }>('report')]);
    const step: Step = {
      consumers,
      workerCpuPercent: stats.workers.reduce((m, w) => Math.max(m, w.cpuPercent), 0),
      nodeCpuPercent: stats.cpuPercent,
      lossRatio: report.expected > 0 ? report.lost / report.expected : 0,
      packetsPerSecond: report.received / (stats.elapsedMs / 1000),
    };
    steps.push(step);
    ctx.log(`  ${label}: ${consumers} consumers, worker ${step.workerCpuPercent.toFixed(0)} % CPU, ${Math.round(step.packetsPerSecond)} pkt/s out, loss ${(step.lossRatio * 100).toFixed(2)} %`);
    if (step.lossRatio >= LOSS_LIMIT) {
      limitedBy = 'loss';
      break;
    }
    if (step.workerCpuPercent >= CPU_LIMIT) {
      limitedBy = 'cpu';
      break;
    }
  }
  const last = steps[steps.length - 1]!;
  const prev = steps[steps.length - 2] ?? { consumers: 0, workerCpuPercent: 0 };
  let capacity: number;
  if (limitedBy === 'cpu' && last.workerCpuPercent < CPU_LIMIT) {
    // Saturated while adding (the control channel starved): the last step measured is the capacity.
    capacity = last.consumers;
  } else if (limitedBy === 'cpu') {
    const slope = (last.workerCpuPercent - prev.workerCpuPercent) / Math.max(1, last.consumers - prev.consumers);
    capacity = slope > 0 ? prev.consumers + (CPU_LIMIT - prev.workerCpuPercent) / slope : last.consumers;
  } else if (limitedBy === 'loss') capacity = prev.consumers;
  else {
    // Never reached the limit: extrapolate linearly from the CPU per consumer (said so in the observations).
    const perConsumer = last.workerCpuPercent / Math.max(1, last.consumers);
    capacity = perConsumer > 0 ? CPU_LIMIT / perConsumer : last.consumers;
  }
  return { steps, capacity, limitedBy };
}

export const mediaPart: Part = async (ctx) => {
  const opts = ctx.smoke ? { stepSubscribers: 5, maxSubscribers: 10, windowS: 1 } : { stepSubscribers: 75, maxSubscribers: 1000, windowS: 3 };
  const feedSeconds = ctx.smoke ? 60 : 600;
  const rows: Row[] = [];
  const errors: string[] = [];
  const observations: Record<string, unknown> = {};
  const sink = await startServer({ script: SINK_SCRIPT });
  const sinkPorts = await sink.call<number[]>('open', { count: 4 });
  let bare: Capacity;
  let ours: Capacity;
  try {
    // Baseline: a bare worker and router, no room code.
    const bareServer = await startServer({ mode: 'bare-media' });
    try {
      await bareServer.call('media:start', { seconds: feedSeconds });
      bare = await ramp(ctx, 'bare mediasoup', bareServer, sink, sinkPorts, opts);
    } finally {
      await bareServer.call('media:stop').catch(() => undefined);
      await bareServer.close();
    }
    // Ours: the router of a live room of our server (one worker), opened by a real join.
    const server = await startServer({
      env: { RECORD_DEFENCES_AUTOMATICALLY: 'false' },
      ...(ctx.profileDir ? { cpuProfileDir: ctx.profileDir, cpuProfileName: 'media-server.cpuprofile' } : {}),
    });
    try {
      const [room] = await server.call<Array<{ sessionId: string; members: Array<{ token: string }> }>>('rooms', { sizes: [2] });
      const socket = io(`${server.url}/rooms`, { auth: { token: room!.members[0]!.token }, transports: ['websocket'], forceNew: true, reconnection: false });
      const joined = (await socket.timeout(20_000).emitWithAck('join', { sessionId: room!.sessionId })) as { error?: { code: string } };
      if (joined.error) throw new Error(`join: ${joined.error.code}`);
      await server.call('media:start', { sessionId: room!.sessionId, seconds: feedSeconds });
      ours = await ramp(ctx, 'room router', server, sink, sinkPorts, opts);
      await server.call('media:stop');
      socket.close();
    } finally {
      await server.close();
    }
  } finally {
    await sink.close();
  }
  const scenario = 'consumers on one worker (SRTP, VP8 ~500 kb/s + Opus)';
  const b = (value: number) => ({ scenario: 'bare mediasoup worker', value });
  rows.push(row({ scenario, metric: `consumers at ${CPU_LIMIT} % worker CPU or 1 % loss`, unit: 'consumers', value: ours.capacity, baseline: b(bare.capacity), better: 'higher' }));
  // Worker CPU per 100 consumers at the largest step both reached.
  const common = Math.min(ours.steps[ours.steps.length - 1]!.consumers, bare.steps[bare.steps.length - 1]!.consumers);
  const at = (c: Capacity) => c.steps.filter((s) => s.consumers <= common).at(-1)!;
  const per100 = (s: Step) => (s.workerCpuPercent / Math.max(1, s.consumers)) * 100;
  rows.push(row({ scenario, metric: `worker CPU per 100 consumers (at ${at(ours).consumers})`, unit: '% core', value: per100(at(ours)), baseline: b(per100(at(bare))), better: 'lower' }));
  rows.push(row({ scenario, metric: `Node CPU of the server (at ${at(ours).consumers})`, unit: '% core', value: at(ours).nodeCpuPercent, baseline: b(at(bare).nodeCpuPercent), better: 'lower' }));
  rows.push(row({ scenario, metric: `loss (at ${at(ours).consumers})`, unit: '%', value: at(ours).lossRatio * 100, baseline: b(at(bare).lossRatio * 100), better: 'lower' }));
  observations.room = { limitedBy: ours.limitedBy, steps: ours.steps };
  observations.bare = { limitedBy: bare.limitedBy, steps: bare.steps };
  return { part: 'media', rows, observations, errors };
};
