/**
 * Summarises a V8 .cpuprofile (as written by `node --cpu-prof`, see
 * `npm run bench -- --profile`): self time by function and by module
 * (a node_modules package, a src/ file, node internals, GC, idle).
 *   node load-tests/profile-summary.ts FILE.cpuprofile [top=25]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export function moduleOf(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const src = url.indexOf('/src/');
  if (src >= 0) return url.slice(src + 1);
  const lt = url.indexOf('/load-tests/');
  if (lt >= 0) return url.slice(lt + 1);
  if (url.startsWith('node:')) return url;
  return url;
}

export function summarizeProfile(file: string, top = 25) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, number>();
  const mods = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const key = `${functionName || '(anonymous)'} ${url ? `${moduleOf(url, functionName)}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const mod = moduleOf(url, functionName);
    mods.set(mod, (mods.get(mod) ?? 0) + us);
  }
  const pct = (us: number) => Math.round((us / total) * 1000) / 10;
  const sort = (m: Map<string, number>) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => ({ name: k, percent: pct(v) }));
  return { file, seconds: (p.endTime - p.startTime) / 1e6, functions: sort(fns), modules: sort(mods) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const s = summarizeProfile(process.argv[2]!, Number(process.argv[3] ?? 25));
  console.log(`${s.file}: ${s.seconds.toFixed(1)} s`);
  console.log('\nself time by module:');
  for (const m of s.modules) console.log(`  ${m.percent.toFixed(1).padStart(5)} %  ${m.name}`);
  console.log('\nself time by function:');
  for (const f of s.functions) console.log(`  ${f.percent.toFixed(1).padStart(5)} %  ${f.name}`);
}
