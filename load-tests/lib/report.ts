import { cpus, freemem, loadavg, totalmem, release } from 'node:os';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One figure: our value beside the baseline measured in the same run, and their ratio. */
export interface Row {
  scenario: string;
  metric: string;
  unit: string;
  value: number;
  baseline?: { scenario: string; value: number };
  /** value / baseline.value */
  ratio?: number;
  /** Which direction is better, to read the ratio. */
  better?: 'higher' | 'lower';
  /** What limits this figure (from profiles and server stats). */
  note?: string;
}

export interface PartResult {
  part: string;
  at: string;
  durationS: number;
  variant: 'full' | 'smoke';
  rows: Row[];
  /** Server-side observations: CPU %, event-loop utilisation, memory… */
  observations: Record<string, unknown>;
  errors: string[];
}

export interface Results {
  updatedAt: string;
  machine: ReturnType<typeof machine>;
  parts: Record<string, PartResult>;
}

export function machine() {
  const c = cpus();
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    freeMemGiB: Math.round((freemem() / 2 ** 30) * 10) / 10,
    loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
    kernel: release(),
    node: process.version,
  };
}

export function row(r: Omit<Row, 'ratio'>): Row {
  const ratio = r.baseline && r.baseline.value !== 0 && Number.isFinite(r.value) ? r.value / r.baseline.value : undefined;
  return { ...r, ...(ratio !== undefined ? { ratio } : {}) };
}

function fmt(n: number | undefined, unit = ''): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  const abs = Math.abs(n);
  const s = abs >= 1000 ? Math.round(n).toLocaleString('en-US') : abs >= 100 ? n.toFixed(0) : abs >= 10 ? n.toFixed(1) : n.toFixed(2);
  return unit ? `${s} ${unit}` : s;
}

export function markdownTable(parts: PartResult[]): string {
  const lines = [
    '| Part | Scenario | Metric | Value | Baseline | Baseline value | Ratio |',
    '|---|---|---|---:|---|---:|---:|',
  ];
  for (const p of parts) {
    for (const r of p.rows) {
      const ratio = r.ratio === undefined ? '' : `${r.ratio < 0.1 ? r.ratio.toPrecision(2) : r.ratio.toFixed(2)}×${r.better ? (r.better === 'higher' ? ' ↑' : ' ↓') : ''}`;
      lines.push(
        `| ${p.part}${p.variant === 'smoke' ? ' (smoke)' : ''} | ${r.scenario} | ${r.metric} | ${fmt(r.value, r.unit)} | ${r.baseline?.scenario ?? ''} | ${r.baseline ? fmt(r.baseline.value, r.unit) : ''} | ${ratio} |`,
      );
    }
  }
  return lines.join('\n');
}

/** Merges parts into `<dir>/latest.json` (a part run alone replaces only its own entry) and writes latest.md. */
export function writeResults(dir: string, parts: PartResult[]): { json: string; md: string; markdown: string; results: Results } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, 'latest.json');
  const previous: Results | undefined = existsSync(json) ? (JSON.parse(readFileSync(json, 'utf8')) as Results) : undefined;
  const results: Results = { updatedAt: new Date().toISOString(), machine: machine(), parts: { ...(previous?.parts ?? {}) } };
  for (const p of parts) results.parts[p.part] = p;
  writeFileSync(json, JSON.stringify(results, null, 2) + '\n');
  const all = Object.values(results.parts);
  const markdown = markdownTable(all);
  const md = join(dir, 'latest.md');
  writeFileSync(
    md,
    `# Benchmark results\n\nUpdated ${results.updatedAt} on ${results.machine.cpus} × ${results.machine.cpuModel}, ${results.machine.memGiB} GiB, Node ${results.machine.node}.\n` +
      `Ratio = value / baseline measured in the same run (↑ higher is better, ↓ lower is better).\n\n` +
      all.map((p) => `- ${p.part}: ${p.at} (${p.variant}, ${p.durationS.toFixed(0)} s)${p.errors.length ? `, ${p.errors.length} error(s)` : ''}`).join('\n') +
      `\n\n${markdown}\n`,
  );
  return { json, md, markdown, results };
}
