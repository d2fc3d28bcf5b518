import t from 'tap';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ERROR_CATALOGUE, httpStatusOf, type ErrorKind } from '../src/shared/errors.ts';
import { errorsDocPath, renderErrorsDoc } from '../scripts/docs-errors.ts';

// The error catalogue is the one list of codes: read the sources as text and
// check that whatever they throw, ack or send is in it, with the same kind.
const root = new URL('../src/', import.meta.url).pathname;
const catalogue = ERROR_CATALOGUE as Record<string, { kind: ErrorKind; summary: string }>;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return path.endsWith('/web/client') || path.endsWith('/web/dist') ? [] : sources(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const helperKinds: Record<string, ErrorKind> = {
  invalid: 'invalid',
  forbidden: 'forbidden',
  notFound: 'not_found',
  conflict: 'conflict',
  unprocessable: 'unprocessable',
  unauthenticated: 'unauthenticated',
  unavailable: 'unavailable',
  clientMedia: 'invalid',
  refuse: 'unauthenticated',
};

interface Use {
  code: string;
  /** The kind the throw site gives it, if the site says. */
  kind?: ErrorKind;
  where: string;
}

const uses: Use[] = [];
for (const file of sources(root)) {
  if (file.endsWith('/shared/error-catalogue.ts')) continue;
  const text = readFileSync(file, 'utf8');
  const at = (index: number) => `${relative(root, file)}:${text.slice(0, index).split('\n').length}`;
  for (const m of text.matchAll(/\b(invalid|forbidden|notFound|conflict|unprocessable|unauthenticated|unavailable|clientMedia|refuse|rateLimited)\(\s*'([a-z0-9_]+)'/g)) {
    uses.push({ code: m[2]!, kind: helperKinds[m[1]!]!, where: at(m.index) });
  }
  for (const m of text.matchAll(/new DomainError\(\s*'([a-z_]+)',\s*'([a-z0-9_]+)'/g)) uses.push({ code: m[2]!, kind: m[1] as ErrorKind, where: at(m.index) });
  // Literal codes in acks, problem bodies, refusals and pure checks ({ ok: false, code: 'x' }).
  for (const m of text.matchAll(/\bcode: '([a-z0-9_]+)'/g)) uses.push({ code: m[1]!, where: at(m.index) });
  // The HTTP layer's own codes (problem plugin): `return 'code';` in codeOfFastifyError, and sendProblem(reply, 'code', …).
  if (file.endsWith('/plugins/problem.ts')) for (const m of text.matchAll(/return '([a-z0-9_]+)'/g)) uses.push({ code: m[1]!, where: at(m.index) });
  for (const m of text.matchAll(/sendProblem\(reply, '([a-z0-9_]+)'/g)) uses.push({ code: m[1]!, where: at(m.index) });
}

t.test('the sources were read (the scan finds the codes it should)', async (t) => {
  t.ok(uses.length > 150, `${uses.length} uses found`);
  for (const code of ['slot_taken', 'session_not_found', 'server_draining', 'token_expired', 'validation_failed', 'invalid_payload', 'marks_required', 'invalid_rtp_parameters']) {
    t.ok(uses.some((u) => u.code === code), `finds ${code}`);
  }
});

t.test('every code thrown, acked or sent in src/ is in the catalogue', async (t) => {
  const missing = uses.filter((u) => !(u.code in catalogue));
  t.same(missing, [], 'codes missing from src/shared/error-catalogue.ts');
});

t.test('no code maps to two statuses: every site gives a code the kind the catalogue gives it', async (t) => {
  const mismatched = uses.filter((u) => u.kind !== undefined && u.code in catalogue && catalogue[u.code]!.kind !== u.kind);
  t.same(mismatched.map((u) => `${u.where}: ${u.code} as ${u.kind}, catalogue says ${catalogue[u.code]!.kind}`), []);
  const statuses = new Map<string, Set<number>>();
  for (const u of uses) {
    if (!(u.code in catalogue)) continue;
    const status = httpStatusOf[u.kind ?? catalogue[u.code]!.kind];
    statuses.set(u.code, (statuses.get(u.code) ?? new Set()).add(status));
  }
  t.same([...statuses].filter(([, s]) => s.size > 1).map(([code]) => code), []);
});

t.test('every catalogue entry is a snake_case code still used in src/, with a kind that has a status', async (t) => {
  const used = new Set(uses.map((u) => u.code));
  for (const [code, entry] of Object.entries(catalogue)) {
    t.match(code, /^[a-z][a-z0-9]*(_[a-z0-9]+)*$/, `${code} is snake_case`);
    t.ok(httpStatusOf[entry.kind], `${code} has a status`);
    t.ok(entry.summary.length > 0, `${code} has a summary`);
  }
  t.same(Object.keys(catalogue).filter((c) => !used.has(c)), [], 'no stale entries');
});

t.test('docs/errors.md is generated from the catalogue and up to date (npm run docs:errors)', async (t) => {
  t.equal(readFileSync(errorsDocPath, 'utf8'), renderErrorsDoc());
});
