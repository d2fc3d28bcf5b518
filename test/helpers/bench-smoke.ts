import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';

/**
 * Runs `npm run bench:smoke` for the given parts (load-tests/run.ts) and checks that the
 * results are well formed: every part ran its smoke variant with no error, every figure
 * is a number and every ratio is value ÷ baseline. Speed is never asserted. Returns the
 * parts' results for the caller's own checks.
 */
export async function runBenchSmoke(t: Test, parts: string[]): Promise<Record<string, any>> {
  const out = mkdtempSync(join(tmpdir(), 'ml-bench-smoke-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['load-tests/run.ts', ...parts, '--smoke', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  t.equal(code, 0, `bench exits 0\n${output}`);

  const results = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8'));
  t.ok(results.machine.cpus >= 1, 'machine described');
  t.same(Object.keys(results.parts).sort(), [...parts].sort(), 'every part asked for ran');
  for (const part of Object.values(results.parts) as any[]) {
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
  return results.parts;
}
