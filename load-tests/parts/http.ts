import autocannon from 'autocannon';
import { startServer, type ServerHandle, type ServerStats } from '../lib/child.ts';
import { row, type Row } from '../lib/report.ts';
import { summarize } from '../lib/stats.ts';
import type { Part, PartContext } from './context.ts';

interface Scenario {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Status a correct answer has (checked once before the load). */
  expect: number;
}

async function login(url: string, email: string, password: string): Promise<string> {
  const res = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { accessToken: string }).accessToken;
}

/** Scenarios of the scheduling capability, when it is there (probed, not assumed). */
export async function schedulingScenarios(server: ServerHandle, studentToken: string, mentorToken: string): Promise<{ scenarios: Scenario[]; missing: string[] }> {
  const { url, demo } = server;
  const scenarios: Scenario[] = [];
  const missing: string[] = [];
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  // Slot search: the mentor's free slots over two weeks, as their student sees them.
  const from = new Date(Date.now() + 86400_000).toISOString();
  const to = new Date(Date.now() + 15 * 86400_000).toISOString();
  const slotsPath = `/hosts/${demo.mentor.id}/slots?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
  const slots = await fetch(`${url}${slotsPath}`, { headers: auth(studentToken) });
  if (slots.status === 200) scenarios.push({ name: 'slot search (2 weeks)', method: 'GET', path: slotsPath, headers: auth(studentToken), expect: 200 });
  else missing.push(`slot search: GET ${slotsPath} answered ${slots.status}`);
  await slots.arrayBuffer();
  // Calendar feed of the mentor (40 sessions in the feed's window).
  await server.call('calendarSessions', { count: 40 });
  const feedInfo = await fetch(`${url}/calendar/feed`, { headers: auth(mentorToken) });
  if (feedInfo.status === 200) {
    const feedUrl = new URL(((await feedInfo.json()) as { url: string }).url);
    const feedPath = feedUrl.pathname + feedUrl.search;
    const full = await fetch(`${url}${feedPath}`);
    const etag = full.headers.get('etag');
    await full.arrayBuffer();
    if (full.status === 200) {
      scenarios.push({ name: 'calendar feed, 40 events (full)', method: 'GET', path: feedPath, expect: 200 });
      if (etag) scenarios.push({ name: 'calendar feed (304, If-None-Match)', method: 'GET', path: feedPath, headers: { 'if-none-match': etag }, expect: 304 });
      else missing.push('calendar feed has no ETag');
    } else missing.push(`calendar feed answered ${full.status}`);
  } else missing.push(`calendar feed: GET /calendar/feed answered ${feedInfo.status}`);
  return { scenarios, missing };
}

async function measure(ctx: PartContext, server: ServerHandle, s: Scenario, connections: number, duration: number) {
  await server.mark();
  const latencies: number[] = [];
  const instance = autocannon({
    url: `${server.url}${s.path}`,
    method: s.method,
    connections,
    // The smoke run counts requests, not seconds: on a loaded machine a 1 s window can end before the first
    // login (hundreds of ms of password hashing) answers, leaving no latency at all to report.
    ...(ctx.smoke ? { amount: 20 } : { duration }),
    ...(s.headers ? { headers: { ...s.headers, ...(s.body ? { 'content-type': 'application/json' } : {}) } } : s.body ? { headers: { 'content-type': 'application/json' } } : {}),
    ...(s.body ? { body: s.body } : {}),
  });
  // autocannon's own histogram has 1 ms resolution: too coarse for the baseline.
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status === s.expect) latencies.push(ms);
  });
  const result = await instance;
  const lat = summarize(latencies);
  const stats: ServerStats = await server.stats();
  const wrongStatus = s.expect === 304 ? result.requests.total - result['3xx'] : result.non2xx;
  ctx.log(`  ${s.name}: ${result.requests.average.toFixed(0)} req/s, p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms, server CPU ${stats.cpuPercent.toFixed(0)} %, ELU ${stats.elu.toFixed(2)}`);
  return { result, stats, wrongStatus, lat };
}

export const httpPart: Part = async (ctx) => {
  const duration = ctx.smoke ? 1 : 10;
  const connections = ctx.smoke ? 2 : 10;
  const server = await startServer({ ...(ctx.profileDir ? { cpuProfileDir: ctx.profileDir, cpuProfileName: 'http-server.cpuprofile' } : {}) });
  const rows: Row[] = [];
  const errors: string[] = [];
  const observations: Record<string, unknown> = {};
  try {
    const { demo, url } = server;
    const studentToken = await login(url, demo.student.email, demo.student.password);
    const mentorToken = await login(url, demo.mentor.email, demo.mentor.password);
    const scenarios: Scenario[] = [
      { name: 'login', method: 'POST', path: '/auth/login', body: JSON.stringify({ email: demo.student.email, password: demo.student.password }), expect: 200 },
      { name: 'progress view', method: 'GET', path: `/students/${demo.student.id}/enrollments`, headers: { authorization: `Bearer ${studentToken}` }, expect: 200 },
    ];
    const sched = await schedulingScenarios(server, studentToken, mentorToken);
    scenarios.push(...sched.scenarios);
    observations.notMeasured = sched.missing;
    // BENCH_HTTP_ONLY=regex keeps only matching scenarios (to profile one route).
    const only = process.env.BENCH_HTTP_ONLY ? new RegExp(process.env.BENCH_HTTP_ONLY, 'i') : undefined;
    if (only) scenarios.splice(0, scenarios.length, ...scenarios.filter((s) => only.test(s.name)));
    for (const s of scenarios) {
      const probe = await fetch(`${url}${s.path}`, { method: s.method, headers: { ...s.headers, ...(s.body ? { 'content-type': 'application/json' } : {}) }, ...(s.body ? { body: s.body } : {}) });
      await probe.arrayBuffer();
      if (probe.status !== s.expect) throw new Error(`${s.name}: expected ${s.expect}, got ${probe.status}`);
    }
    const hello: Scenario = { name: 'bare Fastify hello', method: 'GET', path: '/bench/hello', expect: 200 };
    // Warm-up (JIT, pools), then the baseline, then each scenario followed by the baseline again:
    // each figure is compared with the baseline measured right next to it.
    await autocannon({ url: `${url}/bench/hello`, connections, duration: ctx.smoke ? 1 : 3 });
    for (const s of scenarios) {
      const base = await measure(ctx, server, hello, connections, duration);
      const ours = await measure(ctx, server, s, connections, duration);
      if (ours.result.errors || ours.wrongStatus) errors.push(`${s.name}: ${ours.result.errors} errors, ${ours.wrongStatus} unexpected statuses`);
      const b = (value: number) => ({ scenario: 'bare Fastify hello', value });
      rows.push(row({ scenario: s.name, metric: 'throughput', unit: 'req/s', value: ours.result.requests.average, baseline: b(base.result.requests.average), better: 'higher' }));
      rows.push(row({ scenario: s.name, metric: 'latency p50', unit: 'ms', value: ours.lat.p50, baseline: b(base.lat.p50), better: 'lower' }));
      rows.push(row({ scenario: s.name, metric: 'latency p99', unit: 'ms', value: ours.lat.p99, baseline: b(base.lat.p99), better: 'lower' }));
      observations[s.name] = {
        connections,
        durationS: duration,
        requests: ours.result.requests.total,
        serverCpuPercent: Math.round(ours.stats.cpuPercent),
        eventLoopUtilization: Number(ours.stats.elu.toFixed(2)),
        baselineServerCpuPercent: Math.round(base.stats.cpuPercent),
        baselineEventLoopUtilization: Number(base.stats.elu.toFixed(2)),
      };
    }
  } finally {
    await server.close();
  }
  return { part: 'http', rows, observations, errors };
};
