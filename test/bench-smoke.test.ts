import t from 'tap';
import { runBenchSmoke } from './helpers/bench-smoke.ts';

// Keeps the benchmark scripts working: runs the seconds-long variant of every
// single-node part and checks the results are well formed. Speed is never asserted
// here. The several-nodes part has its own file (bench-smoke-cluster), so the two
// run side by side.
t.test('npm run bench:smoke runs every single-node part and writes well-formed results', async (t) => {
  await runBenchSmoke(t, ['http', 'signalling', 'booking', 'media', 'recording']);
});
