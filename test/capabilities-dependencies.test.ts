import t from 'tap';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import Fastify from 'fastify';
import fp from 'fastify-plugin';
import { CAPABILITIES } from '../src/server/app.ts';
import { opsPlugin } from '../src/server/plugins/ops.ts';

// Capabilities meet through declared fastify-plugin dependencies and typed
// decorators (issue 15). Nothing here boots the app: a missing dependency is
// refused by Fastify before the plugin's body runs.

interface PluginMeta {
  name?: string;
  dependencies?: string[];
}
const metaOf = (plugin: unknown): PluginMeta | undefined => (plugin as Record<symbol, PluginMeta | undefined>)[Symbol.for('plugin-meta')];

/** Registered by buildApp at the root before the API scope. */
const ROOT_PLUGINS = ['problem', 'auth', 'docs', 'sockets', 'web'];

t.test('every capability is a fastify-plugin with a name and its dependencies, registered after them', async (t) => {
  const registered = new Set(ROOT_PLUGINS);
  for (const capability of CAPABILITIES) {
    const meta = metaOf(capability);
    t.ok(meta?.name, 'named');
    t.ok(Array.isArray(meta?.dependencies), `${meta?.name} declares its dependencies`);
    for (const dependency of meta?.dependencies ?? []) t.ok(registered.has(dependency), `${meta?.name}: ${dependency} is registered before it`);
    registered.add(meta!.name!);
  }
  t.same(metaOf(opsPlugin)?.dependencies, ['rooms'], 'ops reads the rooms capability and says so');
  t.equal(new Set(CAPABILITIES.map((c) => metaOf(c)?.name)).size, CAPABILITIES.length, 'names are unique');
});

t.test('every plugin a capability module exports declares its name and dependencies', async (t) => {
  const src = new URL('../src/', import.meta.url).pathname;
  let seen = 0;
  for (const dir of readdirSync(src)) {
    const index = join(src, dir, 'index.ts');
    if (!existsSync(index)) continue;
    const mod = (await import(index)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(mod)) {
      if (!exportName.endsWith('Plugin') || typeof value !== 'function') continue;
      seen++;
      const meta = metaOf(value);
      t.ok(meta?.name, `src/${dir}: ${exportName} is a fastify-plugin with a name`);
      t.ok(Array.isArray(meta?.dependencies), `src/${dir}: ${exportName} declares its dependencies`);
    }
  }
  t.ok(seen >= CAPABILITIES.length, `${seen} plugins exported by the capabilities' index.ts`);
});

t.test('a capability registered without one of its dependencies stops the start-up, naming it', async (t) => {
  let cases = 0;
  for (const capability of CAPABILITIES) {
    const { name, dependencies = [] } = metaOf(capability)!;
    for (const missing of dependencies) {
      cases++;
      // A bare Fastify: stand-ins for every other dependency, none for `missing`.
      const app = Fastify({ logger: false });
      for (const other of dependencies.filter((d) => d !== missing)) app.register(fp(async () => undefined, { name: other }));
      app.register(capability);
      await t.rejects(
        async () => void (await app.ready()),
        { code: 'FST_ERR_PLUGIN_DEPENDENCY_NOT_REGISTERED', message: `The dependency '${missing}' of plugin '${name}' is not registered` },
        `${name} without ${missing}`,
      );
      await app.close().catch(() => undefined);
    }
  }
  t.ok(cases >= 10, `${cases} missing dependencies refused`);

  // With its one dependency present (a stand-in), the same bare instance starts: the refusals
  // above come from the dependency check, not from what the bare instance lacks.
  const app = Fastify({ logger: false });
  app.register(fp(async () => undefined, { name: 'auth' }));
  app.register(CAPABILITIES.find((c) => metaOf(c)?.name === 'school')!);
  await t.resolves(async () => void (await app.ready()), 'school with auth present starts (it reads nothing at registration)');
  await app.close();
});

t.test('no capability reaches another one by a cast, an optional lookup or a private field', async (t) => {
  const root = new URL('../src/', import.meta.url).pathname;
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return path.endsWith('/web/client') || path.endsWith('/web/dist') ? [] : files(path);
      return path.endsWith('.ts') ? [path] : [];
    });
  const decorators = ['rooms', 'recordings', 'composites', 'attendance', 'scheduling', 'progression', 'io', 'events', 'outbox'];
  const findings: string[] = [];
  for (const path of files(root)) {
    readFileSync(path, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const where = `${relative(root, path)}:${i + 1}`;
        if (line.includes('_nsps')) findings.push(`${where} reads Socket.IO's private _nsps`);
        if (/\bhasDecorator\(/.test(line)) findings.push(`${where} looks a capability up instead of declaring it: ${line.trim()}`);
        const cast = /([\w.#]+)\s+as unknown as\s+(.*)$/.exec(line);
        if (!cast) return;
        const [, subject, target] = cast;
        if (/(^|\.)(#?app|fastify|instance|server)$/.test(subject!)) findings.push(`${where} casts the app: ${line.trim()}`);
        if (decorators.some((d) => new RegExp(`\\b${d}\\??:`).test(target!))) findings.push(`${where} casts to reach a capability: ${line.trim()}`);
      });
  }
  t.same(findings, [], 'grep -rn "as unknown as" src/ finds no cross-capability reach; no _nsps; no hasDecorator');
});

t.test("a capability uses another one only through the face its index.ts shows", async (t) => {
  const root = new URL('../src/', import.meta.url).pathname;
  // The composition root (server) wires config modules; the browser client (web/client) imports types only.
  const capabilities = readdirSync(root).filter((d) => statSync(join(root, d)).isDirectory() && !['server', 'web', 'shared', 'db'].includes(d));
  const findings: string[] = [];
  for (const dir of capabilities) {
    for (const name of readdirSync(join(root, dir)).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(root, dir, name), 'utf8');
      for (const m of text.matchAll(/from '\.\.\/([a-z-]+)\/([\w.-]+)'/g)) {
        const [, other, file] = m;
        if (other === 'shared' || other === 'db' || other === dir) continue;
        // The one configuration schema (the AppConfig type) belongs to the server, not to a capability.
        if (other === 'server' && file === 'config.ts') continue;
        if (file !== 'index.ts') findings.push(`src/${dir}/${name} imports ../${other}/${file}`);
      }
    }
  }
  t.same(findings, [], 'imports across capabilities go through index.ts');
});
