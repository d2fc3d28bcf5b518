import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { configMarkdown, effectiveConfig, withConfigTable } from '../src/server/config-docs.ts';
import { configSchema, configSections, loadConfig } from '../src/server/config.ts';
import { annotationsOf } from '../src/shared/env.ts';

const root = join(import.meta.dirname, '..');
const declared = new Set(Object.keys(configSchema.properties));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'client' || e.name === 'dist' ? [] : sourceFiles(path);
    return e.name.endsWith('.ts') ? [path] : [];
  });
}

t.test('every variable has a description and a default (or says what unset means), declared once', async (t) => {
  const seen = new Map<string, string>();
  for (const { title, schema } of configSections) {
    for (const [name, variable] of Object.entries(schema.properties)) {
      const s = annotationsOf(variable);
      t.ok(s.description && s.description.length > 5, `${name} has a description`);
      t.ok(s.default !== undefined || s.defaultText, `${name} has a default or a defaultText`);
      t.notOk(seen.has(name), `${name} is declared once (also in ${seen.get(name)})`);
      seen.set(name, title);
    }
  }
  t.ok(seen.size >= 60, `the schema lists every variable (${seen.size})`);
});

t.test('the README configuration table is the one generated from the schema', async (t) => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  t.equal(withConfigTable(readme), readme, 'README.md matches the schema; run `npm run docs:config`');
  for (const name of declared) t.match(configMarkdown(), `\`${name}\``);
});

t.test('the code reads no environment variable the schema does not declare', async (t) => {
  const reads: Array<{ file: string; name: string }> = [];
  const rawReads: string[] = [];
  for (const file of sourceFiles(join(root, 'src'))) {
    const rel = relative(root, file);
    const text = readFileSync(file, 'utf8');
    // process.env.X, process.env['X'], env.X, env['X'], and the older readers' int(env, 'X', …).
    for (const m of text.matchAll(/\b(?:process\.)?env(?:\.([A-Z][A-Z0-9_]*)|\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\])/g)) reads.push({ file: rel, name: (m[1] ?? m[2])! });
    for (const m of text.matchAll(/\(\s*env\s*,\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g)) reads.push({ file: rel, name: m[1]! });
    // A read of process.env other than passing it whole to loadConfig (the one reader) or to a child.
    for (const m of text.matchAll(/process\.env(?!\s*\)|\s*,|\s*;)(?!\.NODE_ENV)/g)) {
      const line = text.slice(0, m.index).split('\n').length;
      const context = text.split('\n')[line - 1]!;
      if (!/\.\.\.process\.env|=\s*process\.env\)/.test(context)) rawReads.push(`${rel}:${line}: ${context.trim()}`);
    }
  }
  const undeclared = reads.filter((r) => !declared.has(r.name));
  t.same(undeclared, [], 'every variable read is in the schema (add it to its capability’s …Env section)');
  t.same(rawReads, [], 'the environment is read through readEnv (src/shared/env.ts), not process.env');
  // The checker itself finds reads: a read of an undeclared name is reported.
  t.same([...'x = env.NOT_DECLARED_ANYWHERE'.matchAll(/\b(?:process\.)?env(?:\.([A-Z][A-Z0-9_]*))/g)].map((m) => m[1]), ['NOT_DECLARED_ANYWHERE']);
});

t.test('--print-config shows every variable, set or default, with secrets masked', async (t) => {
  const env = {
    DATA_DIR: '/tmp/ml-print-config',
    JWT_SECRET: 'a-very-secret-value-that-is-long-enough-1234',
    DATABASE_URL: 'postgres://app:hunter2@db.example:5432/live',
    ROOM_ICE_SERVERS: '[{"urls":"turn:turn.example:3478","username":"u","credential":"turn-pass"}]',
    PORT: '4000',
  };
  loadConfig(env);
  const out = effectiveConfig(env);
  for (const name of declared) t.match(out, new RegExp(`^${name}=`, 'm'), `${name} is listed`);
  t.match(out, /^PORT=4000\s+# set$/m);
  t.match(out, /^HOST=127\.0\.0\.1\s+# default$/m);
  t.match(out, /^PUBLIC_URL=\s+# default: http:\/\/HOST:PORT$/m);
  t.match(out, /^JWT_SECRET=\*{8}\s+# set$/m);
  t.match(out, /^DATABASE_URL=postgres:\/\/app:\*\*\*@db\.example:5432\/live/m);
  t.notMatch(out, /a-very-secret-value|hunter2|turn-pass/, 'no secret appears');
});
