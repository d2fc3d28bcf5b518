import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';

// Keeps the benchmark scripts working: runs the seconds-long variant of every
// part and checks the results are well formed. Speed is never asserted here.
t.test('npm run bench:smoke runs every part and writes well-formed results', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'ml-bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['load-tests/run.ts', '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0, `bench exits 0\n${output}`);

  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
  t.ok(results.machine.cpus >= 1, 'machine described');
  const parts = Object.values(results.parts) as any[];
  t.ok(parts.length >= 1, 'at least one part');
  // The several-nodes part starts three nodes on one database and Redis prefix, kills one, and ramps recorded sessions.
  const cluster = results.parts.cluster;
  t.ok(cluster, 'the cluster part ran');
  for (const metric of [/sessions carried/, /signalling clients carried/, /media consumers carried/, /busiest node/, /sent to another node, p95/, /media again \(worst\)/]) {
    t.ok(cluster?.rows.some((r: { metric: string }) => metric.test(r.metric)), `cluster part reports ${metric}`);
  }
  for (const part of parts) {
    t.equal(part.variant, 'smoke', `${part.part} ran the smoke variant`);
    t.same(part.errors, [], `${part.part} reports no errors`);
    t.ok(part.rows.length > 0, `${part.part} has figures`);
    for (const r of part.rows) {
      const label = `${part.part} / ${r.scenario} / ${r.metric}`;
      t.ok(Number.isFinite(r.value), `${label}: value is a number`);
      t.type(r.unit, 'string');
      if (r.baseline) {
        t.ok(Number.isFinite(r.baseline.value), `${label}: baseline value is a number`);
        if (r.baseline.value > 0) t.ok(Math.abs(r.ratio - r.value / r.baseline.value) < 1e-9, `${label}: ratio = value / baseline`);
      }
    }
  }
  const md = readFileSync(join(out, 'latest.md'), 'utf8');
  t.match(md, /\| Part \| Scenario \| Metric \| Value \| Baseline \| Baseline value \| Ratio \|/, 'Markdown table written');
  t.match(output, /\| Part \| Scenario/, 'table printed');
});
