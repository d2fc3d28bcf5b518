import t from 'tap';
import { runBenchSmoke } from './helpers/bench-smoke.ts';

// The several-nodes part of the benchmark in its smoke variant: starts one node, then
// three on one database and Redis prefix, kills one, ramps recorded sessions. Only the
// shape of the results is checked, never a speed.
t.test('npm run bench:smoke runs the cluster part and reports each of its figures', async (t) => {
  const parts = await runBenchSmoke(t, ['cluster']);
  for (const metric of [/sessions carried/, /signalling clients carried/, /media consumers carried/, /busiest node/, /sent to another node, p95/, /media again \(worst\)/]) {
    t.ok(parts.cluster?.rows.some((r: { metric: string }) => metric.test(r.metric)), `cluster part reports ${metric}`);
  }
});
