/**
 * A/B of the store's connection-pool size under the signalling ramp (the
 * profile of the join path showed queries waiting for a pooled connection):
 * rounds alternate the pool sizes given, each round with its own bare
 * Socket.IO echo baseline right before, so each ratio compares like with like.
 *   node load-tests/experiments/db-pool.ts [clients=1000] [rounds=2] [sizes=10,25]
 */
import { startServer } from '../lib/child.ts';
import { summarize } from '../lib/stats.ts';
import { run, type RoomFixture } from '../parts/signalling.ts';

const clients = Number(process.argv[2] ?? 1000);
const rounds = Number(process.argv[3] ?? 2);
const sizes = (process.argv[4] ?? '10,25').split(',');
const ctx = { smoke: false, profileDir: undefined, log: (m: string) => console.log(m) };
const opts = { concurrency: 50, chatterS: 5, chatterPeriodMs: 2000 };
const roomSizes: number[] = [];
for (let n = 0, i = 0; n < clients; i++) {
  roomSizes.push(2 + (i % 4));
  n += 2 + (i % 4);
}
const results: Record<string, Array<{ joinP50: number; joinP99: number; rampS: number; ratioJoinP50: number; ratioJoinP99: number; ratioRamp: number }>> = {};
for (let r = 0; r < rounds; r++) {
  for (const size of sizes) {
    const echo = await startServer({ mode: 'echo' });
    const fake: RoomFixture[] = roomSizes.map((sz, i) => ({ sessionId: `r${i}`, kind: 'echo', members: Array.from({ length: sz }, (_, j) => ({ userId: `u${i}-${j}`, token: 'x', role: (sz === 3 || sz === 5) && j === sz - 1 ? 'observer' : 'x' })) }));
    const base = await run(ctx, echo, 'echo', fake, opts);
    await echo.close();
    process.env.BENCH_DB_POOL = size;
    const server = await startServer({ env: { ACCESS_TOKEN_TTL_SECONDS: '86400', RECORD_DEFENCES_AUTOMATICALLY: 'false' } });
    const rooms = await server.call<RoomFixture[]>('rooms', { sizes: roomSizes });
    const ours = await run(ctx, server, `pool ${size}`, rooms, opts);
    await server.close();
    const [oj, bj] = [summarize(ours.joinMs), summarize(base.joinMs)];
    (results[size] ??= []).push({
      joinP50: oj.p50,
      joinP99: oj.p99,
      rampS: ours.rampS,
      ratioJoinP50: oj.p50 / bj.p50,
      ratioJoinP99: oj.p99 / bj.p99,
      ratioRamp: ours.rampS / base.rampS,
    });
    console.log(`round ${r + 1}, pool ${size}: ${JSON.stringify(results[size]!.at(-1))}`);
  }
}
for (const [size, rs] of Object.entries(results)) {
  const mean = (k: keyof (typeof rs)[number]) => rs.reduce((a, r) => a + r[k], 0) / rs.length;
  console.log(`pool ${size}: join p50 ${mean('joinP50').toFixed(0)} ms (${mean('ratioJoinP50').toFixed(1)}× echo), p99 ${mean('joinP99').toFixed(0)} ms (${mean('ratioJoinP99').toFixed(1)}× echo), ramp ${mean('rampS').toFixed(1)} s (${mean('ratioRamp').toFixed(1)}× echo)`);
}
