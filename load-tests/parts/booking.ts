import pg from 'pg';
import { startServer } from '../lib/child.ts';
import { row, type Row } from '../lib/report.ts';
import { pool, summarize } from '../lib/stats.ts';
import type { Part } from './context.ts';

interface Mentees {
  mentor: { userId: string; token: string };
  students: Array<{ userId: string; token: string }>;
}
interface Outcome {
  status: number;
  ms: number;
  code?: string;
}

async function call(url: string, method: string, path: string, token: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/** Open every day 06:00–22:00 UTC, no buffer, no notice: plenty of distinct slots. */
async function openAvailability(url: string, m: Mentees): Promise<void> {
  const weekly = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: '06:00', end: '22:00' }));
  const r = await call(url, 'PUT', `/hosts/${m.mentor.userId}/availability`, m.mentor.token, { timeZone: 'UTC', bufferMinutes: 0, minimumNoticeMinutes: 0, horizonDays: 60, weekly });
  if (r.status !== 200) throw new Error(`availability: ${r.status} ${JSON.stringify(r.json)}`);
}

/** `n` non-overlapping slots of the mentor, as a student of theirs sees them. */
async function distinctSlots(url: string, m: Mentees, n: number): Promise<string[]> {
  // From a UTC midnight: a search starting at an arbitrary instant offers slots off the step grid that
  // booking then refuses (422 slot_not_offered), reported to the scheduling owner.
  const from = new Date(Math.ceil(Date.now() / 86400_000) * 86400_000 + 86400_000);
  const to = new Date(from.getTime() + 30 * 86400_000);
  const r = await call(url, 'GET', `/hosts/${m.mentor.userId}/slots?from=${from.toISOString()}&to=${to.toISOString()}`, m.students[0]!.token);
  if (r.status !== 200) throw new Error(`slots: ${r.status} ${JSON.stringify(r.json)}`);
  const out: string[] = [];
  let lastEnd = 0;
  for (const s of r.json.slots as Array<{ startsAt: string; endsAt: string }>) {
    if (Date.parse(s.startsAt) >= lastEnd) {
      out.push(s.startsAt);
      lastEnd = Date.parse(s.endsAt);
      if (out.length === n) break;
    }
  }
  if (out.length < n) throw new Error(`only ${out.length} distinct slots`);
  return out;
}

async function book(url: string, token: string, startsAt: string, projectId: string): Promise<Outcome> {
  const t0 = performance.now();
  const r = await call(url, 'POST', '/sessions', token, { startsAt, projectId });
  return { status: r.status, ms: performance.now() - t0, ...(r.status >= 400 ? { code: r.json?.code } : {}) };
}

function counts(outcomes: Outcome[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const o of outcomes) {
    const key = o.code ? `${o.status} ${o.code}` : String(o.status);
    c[key] = (c[key] ?? 0) + 1;
  }
  return c;
}

/**
 * Bookings through the API (POST /sessions: advisory locks, buffer check,
 * exclusion constraint, history, reminders) against the database floor: bare
 * INSERTs into a table with the same kind of exclusion constraint, same
 * concurrency, same database server.
 */
export const bookingPart: Part = async (ctx) => {
  const contenders = ctx.smoke ? 10 : 100;
  const mentors = ctx.smoke ? 2 : 10;
  const perMentor = ctx.smoke ? 10 : 100;
  const concurrency = ctx.smoke ? 5 : 50;
  const rows: Row[] = [];
  const errors: string[] = [];
  const observations: Record<string, unknown> = {};
  const server = await startServer({
    env: { ACCESS_TOKEN_TTL_SECONDS: '86400', MINIMUM_NOTICE_MINUTES: '0' },
    ...(ctx.profileDir ? { cpuProfileDir: ctx.profileDir, cpuProfileName: 'booking-server.cpuprofile' } : {}),
  });
  const raw = new pg.Pool({ connectionString: server.databaseUrl, max: 10 });
  try {
    const projectId = server.demo.projectIds[0] as string;
    const [contention, ...distinct] = await server.call<Mentees[]>('mentees', { mentors: 1 + mentors, studentsPerMentor: Math.max(contenders, perMentor) });
    for (const m of [contention!, ...distinct]) await openAvailability(server.url, m);

    // 1. Contention: every student of one mentor books the same slot at once.
    const [slot] = await distinctSlots(server.url, contention!, 1);
    await server.mark();
    const c0 = performance.now();
    const race = await Promise.all(contention!.students.slice(0, contenders).map((s) => book(server.url, s.token, slot!, projectId)));
    const raceS = (performance.now() - c0) / 1000;
    const raceStats = await server.stats();
    const raceWins = race.filter((o) => o.status === 201).length;
    ctx.log(`  ${contenders} bookings of one slot: ${JSON.stringify(counts(race))} in ${raceS.toFixed(2)} s`);
    if (raceWins !== 1) errors.push(`contention: ${raceWins} successes instead of exactly 1 (${JSON.stringify(counts(race))})`);

    // 2. Distinct slots: each student books their own slot of their mentor.
    const jobs: Array<{ token: string; startsAt: string }> = [];
    for (const m of distinct) {
      const slots = await distinctSlots(server.url, m, perMentor);
      m.students.slice(0, perMentor).forEach((s, i) => jobs.push({ token: s.token, startsAt: slots[i]! }));
    }
    await server.mark();
    const st0 = await server.call<number>('statements');
    const d0 = performance.now();
    const spread = await pool(jobs, concurrency, (j) => book(server.url, j.token, j.startsAt, projectId));
    const spreadS = (performance.now() - d0) / 1000;
    const spreadStats = await server.stats();
    const statementsPerBooking = ((await server.call<number>('statements')) - st0) / jobs.length;
    const spreadWins = spread.filter((o) => o.status === 201).length;
    ctx.log(`  ${jobs.length} bookings of distinct slots: ${JSON.stringify(counts(spread))} in ${spreadS.toFixed(1)} s, ${statementsPerBooking.toFixed(1)} SQL statements per booking, server CPU ${spreadStats.cpuPercent.toFixed(0)} %, ELU ${spreadStats.elu.toFixed(2)}`);
    if (spreadWins !== jobs.length) errors.push(`distinct slots: ${spreadWins}/${jobs.length} succeeded (${JSON.stringify(counts(spread))})`);

    // Baseline: the exclusion constraint alone.
    await raw.query(`CREATE TABLE bench_slots (host uuid NOT NULL, during tstzrange NOT NULL, EXCLUDE USING gist (host WITH =, during WITH &&))`);
    const insert = async (host: string, startsAt: string): Promise<Outcome> => {
      const t0 = performance.now();
      try {
        await raw.query(`INSERT INTO bench_slots (host, during) VALUES ($1, tstzrange($2::timestamptz, $2::timestamptz + interval '45 minutes'))`, [host, startsAt]);
        return { status: 201, ms: performance.now() - t0 };
      } catch (err) {
        return { status: 409, ms: performance.now() - t0, code: (err as { code?: string }).code ?? 'error' };
      }
    };
    const b0 = performance.now();
    const baseRace = await Promise.all(Array.from({ length: contenders }, () => insert(contention!.mentor.userId, slot!)));
    const baseRaceS = (performance.now() - b0) / 1000;
    const e0 = performance.now();
    const baseSpread = await pool(jobs, concurrency, (j, i) => insert(distinct[Math.floor(i / perMentor)]!.mentor.userId, j.startsAt));
    const baseSpreadS = (performance.now() - e0) / 1000;
    const baseRaceWins = baseRace.filter((o) => o.status === 201).length;
    const baseSpreadWins = baseSpread.filter((o) => o.status === 201).length;
    ctx.log(`  baseline: ${contenders} INSERTs of one slot → ${baseRaceWins} success; ${jobs.length} distinct → ${baseSpreadWins} in ${baseSpreadS.toFixed(1)} s`);

    const b = (value: number) => ({ scenario: 'bare INSERT with an exclusion constraint', value });
    const one = `${contenders} concurrent bookings of one slot`;
    const many = `${jobs.length} bookings of distinct slots (${concurrency} in flight)`;
    const [r, br] = [summarize(race.map((o) => o.ms)), summarize(baseRace.map((o) => o.ms))];
    const [s, bs] = [summarize(spread.map((o) => o.ms)), summarize(baseSpread.map((o) => o.ms))];
    rows.push(row({ scenario: one, metric: 'successes (exactly 1 expected)', unit: 'bookings', value: raceWins, baseline: b(baseRaceWins) }));
    rows.push(row({ scenario: one, metric: 'refused 409 slot_taken', unit: 'bookings', value: race.filter((o) => o.status === 409).length, baseline: b(baseRace.filter((o) => o.status === 409).length) }));
    rows.push(row({ scenario: one, metric: 'latency p50', unit: 'ms', value: r.p50, baseline: b(br.p50), better: 'lower' }));
    rows.push(row({ scenario: one, metric: 'latency p99', unit: 'ms', value: r.p99, baseline: b(br.p99), better: 'lower' }));
    rows.push(row({ scenario: one, metric: 'all answered in', unit: 's', value: raceS, baseline: b(baseRaceS), better: 'lower' }));
    rows.push(row({ scenario: many, metric: 'successes', unit: 'bookings', value: spreadWins, baseline: b(baseSpreadWins), better: 'higher' }));
    rows.push(row({ scenario: many, metric: 'throughput', unit: 'bookings/s', value: jobs.length / spreadS, baseline: b(jobs.length / baseSpreadS), better: 'higher' }));
    rows.push(row({ scenario: many, metric: 'latency p50', unit: 'ms', value: s.p50, baseline: b(bs.p50), better: 'lower' }));
    rows.push(row({ scenario: many, metric: 'latency p99', unit: 'ms', value: s.p99, baseline: b(bs.p99), better: 'lower' }));
    observations.contention = { outcomes: counts(race), serverCpuPercent: Math.round(raceStats.cpuPercent), eventLoopUtilization: Number(raceStats.elu.toFixed(2)), baselineOutcomes: counts(baseRace) };
    observations.distinct = { statementsPerBooking, outcomes: counts(spread), serverCpuPercent: Math.round(spreadStats.cpuPercent), eventLoopUtilization: Number(spreadStats.elu.toFixed(2)) };
  } finally {
    await raw.end();
    await server.close();
  }
  return { part: 'booking', rows, observations, errors };
};
