import { startServer, type ServerStats } from '../lib/child.ts';
import { row, type Row } from '../lib/report.ts';
import { sleep } from '../lib/stats.ts';
import type { Part, PartContext } from './context.ts';

interface Measure {
  sessions: number;
  recorders: number;
  cpuPerSession: number;
  rssPerSessionMiB: number;
  pssPerSessionMiB: number;
  workerCpu: number;
  nodeCpu: number;
}

async function measure(ctx: PartContext, kind: 'ours' | 'bare', sessions: number, windowS: number): Promise<Measure> {
  const server = await startServer({ mode: 'bare-media' });
  try {
    await server.call('recording:start', { sessions, kind, seconds: windowS + 60 });
    await sleep(3000); // keyframes, FFmpeg probing
    await server.mark();
    await sleep(windowS * 1000);
    const s: ServerStats = await server.stats();
    const m: Measure = {
      sessions,
      recorders: s.recorders.length,
      cpuPerSession: s.recorders.reduce((a, r) => a + r.cpuPercent, 0) / sessions,
      rssPerSessionMiB: s.recorders.reduce((a, r) => a + r.rss, 0) / sessions / 2 ** 20,
      pssPerSessionMiB: s.recorders.reduce((a, r) => a + r.pss, 0) / sessions / 2 ** 20,
      workerCpu: s.workers.reduce((a, w) => a + w.cpuPercent, 0),
      nodeCpu: s.cpuPercent,
    };
    ctx.log(`  ${kind}: ${sessions} sessions, ${m.recorders} FFmpeg recorders, ${m.cpuPerSession.toFixed(1)} % CPU and ${m.rssPerSessionMiB.toFixed(1)} MiB RSS (${m.pssPerSessionMiB.toFixed(1)} MiB PSS) per session`);
    await server.call('recording:stop');
    return m;
  } finally {
    await server.close();
  }
}

/**
 * Cost of recording one session (VP8 ~500 kb/s + Opus): the recording
 * capability's TrackRecorders (one FFmpeg per track, stream copy, segment
 * bookkeeping) against one bare FFmpeg stream copy of both tracks per session.
 */
export const recordingPart: Part = async (ctx) => {
  const sessions = ctx.smoke ? 1 : 10;
  const windowS = ctx.smoke ? 2 : 10;
  const bare = await measure(ctx, 'bare', sessions, windowS);
  const ours = await measure(ctx, 'ours', sessions, windowS);
  const rows: Row[] = [];
  const errors: string[] = [];
  if (ours.recorders !== sessions * 2) errors.push(`expected ${sessions * 2} recorder processes, saw ${ours.recorders}`);
  if (bare.recorders !== sessions) errors.push(`expected ${sessions} bare FFmpeg processes, saw ${bare.recorders}`);
  const scenario = `${sessions} recorded sessions (VP8 + Opus each)`;
  const b = (value: number) => ({ scenario: 'bare FFmpeg stream copy, one per session', value });
  rows.push(row({ scenario, metric: 'recorder CPU per session', unit: '% core', value: ours.cpuPerSession, baseline: b(bare.cpuPerSession), better: 'lower' }));
  rows.push(row({ scenario, metric: 'recorder RSS per session', unit: 'MiB', value: ours.rssPerSessionMiB, baseline: b(bare.rssPerSessionMiB), better: 'lower' }));
  rows.push(row({ scenario, metric: 'recorder PSS per session (shared pages split)', unit: 'MiB', value: ours.pssPerSessionMiB, baseline: b(bare.pssPerSessionMiB), better: 'lower' }));
  rows.push(row({ scenario, metric: 'recorder processes per session', unit: 'processes', value: ours.recorders / sessions, baseline: b(bare.recorders / sessions), better: 'lower' }));
  return { part: 'recording', rows, observations: { ours, bare }, errors };
};
