/**
 * npm run bench [-- part… ] [--smoke] [--profile] [--out DIR]
 *   parts: http, signalling, booking, media, recording, cluster (default: all)
 *   --smoke    seconds-long variant (CI keeps the scripts working; figures meaningless)
 *   --profile  write V8 CPU profiles of the server processes into DIR/profiles
 *   --out DIR  results folder (default load-tests/results; env BENCH_RESULTS_DIR)
 * Writes DIR/latest.json and DIR/latest.md and prints the table.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeResults, type PartResult } from './lib/report.ts';
import type { Part } from './parts/context.ts';
import { httpPart } from './parts/http.ts';

const here = dirname(fileURLToPath(import.meta.url));

const PARTS: Record<string, () => Promise<Part>> = {
  http: async () => httpPart,
  signalling: async () => (await import('./parts/signalling.ts')).signallingPart,
  booking: async () => (await import('./parts/booking.ts')).bookingPart,
  media: async () => (await import('./parts/media.ts')).mediaPart,
  recording: async () => (await import('./parts/recording.ts')).recordingPart,
  cluster: async () => (await import('./parts/cluster.ts')).clusterPart,
};

const args = process.argv.slice(2);
const smoke = args.includes('--smoke');
const profile = args.includes('--profile');
const outIndex = args.indexOf('--out');
const outDir = resolve(outIndex >= 0 ? args[outIndex + 1]! : (process.env.BENCH_RESULTS_DIR ?? join(here, 'results')));
const named = args.filter((a, i) => !a.startsWith('--') && !(outIndex >= 0 && i === outIndex + 1));
const unknown = named.filter((n) => !(n in PARTS));
if (unknown.length > 0) {
  console.error(`unknown part(s): ${unknown.join(', ')}; known: ${Object.keys(PARTS).join(', ')}`);
  process.exit(2);
}
const selected = named.length > 0 ? named : Object.keys(PARTS);
const profileDir = profile ? join(outDir, 'profiles') : undefined;
if (profileDir) mkdirSync(profileDir, { recursive: true });

const started = Date.now();
const results: PartResult[] = [];
let failed = false;
for (const name of selected) {
  const t0 = Date.now();
  console.log(`# ${name}${smoke ? ' (smoke)' : ''}`);
  try {
    const part = await PARTS[name]!();
    const r = await part({ smoke, profileDir, log: (m) => console.log(m) });
    results.push({ ...r, at: new Date().toISOString(), durationS: (Date.now() - t0) / 1000, variant: smoke ? 'smoke' : 'full' });
  } catch (err) {
    failed = true;
    console.error(`part ${name} failed:`, err);
    results.push({ part: name, at: new Date().toISOString(), durationS: (Date.now() - t0) / 1000, variant: smoke ? 'smoke' : 'full', rows: [], observations: {}, errors: [String((err as Error).stack ?? err)] });
  }
}
const { json, md, markdown } = writeResults(outDir, results);
console.log(`\n${markdown}\n`);
console.log(`written: ${json}, ${md} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
process.exit(failed ? 1 : 0);
