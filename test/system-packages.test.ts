import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardown } from './helpers/db.ts';

/**
 * scripts/ensure-system-packages.sh on machines this one is not: packages
 * missing, not root, no sudo, not Debian. Nothing is uninstalled: the script
 * runs with a PATH of stubs (dpkg-query, apt-get, sudo, id) and the few real
 * tools it uses, so it sees the machine the stubs describe.
 */
const root = join(import.meta.dirname, '..');
const script = join(root, 'scripts', 'ensure-system-packages.sh');
const groups = (name: string) => readFileSync(join(root, 'scripts', 'system-packages.txt'), 'utf8').match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))![1]!.trim().split(/\s+/);

interface Machine {
  /** Packages dpkg-query reports installed; undefined = no dpkg-query at all (not Debian). */
  installed?: string[];
  uid?: number;
  /** Password-less sudo. */
  sudo?: boolean;
  env?: Record<string, string>;
  /** Commands present on a machine without dpkg-query. */
  commands?: string[];
}

function run(t: Teardown, machine: Machine, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'ml-pkgs-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'apt.log');
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  for (const tool of ['bash', 'sed', 'cat', 'grep', 'tail', 'rm', 'mktemp', 'seq', 'sleep', 'env', 'dirname']) symlinkSync(spawnSync('bash', ['-c', `command -v ${tool}`]).stdout.toString().trim(), join(bin, tool));
  if (machine.installed) {
    writeFileSync(join(dir, 'installed'), machine.installed.join('\n') + '\n');
    stub('dpkg-query', `pkg="\${@: -1}"; grep -qx "$pkg" ${dir}/installed && printf installed || { echo "dpkg-query: no packages found matching $pkg" >&2; exit 1; }`);
  }
  for (const c of machine.commands ?? []) stub(c, 'exit 0');
  stub('id', `echo ${machine.uid ?? 0}`);
  stub('apt-get', `echo "apt-get $*" >> ${log}`);
  if (machine.sudo !== undefined) stub('sudo', machine.sudo ? `[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; echo "sudo $*" >> ${log}; "$@"` : 'exit 1');
  const r = spawnSync(join(bin, 'bash'), [script, ...args], { env: { PATH: bin, ...machine.env }, encoding: 'utf8' });
  let apt = '';
  try {
    apt = readFileSync(log, 'utf8');
  } catch {}
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, apt };
}

const everything = [...groups('build'), ...groups('run'), ...groups('browser'), ...groups('ci')];
const without = (...missing: string[]) => everything.filter((p) => !missing.includes(p));

t.test('the package groups: FFmpeg and Redis to run, Chromium and fonts for the browser tests, coturn and HAProxy for the tests that spawn them', async (t) => {
  t.same(groups('run'), ['ffmpeg', 'redis-server']);
  t.same(groups('browser'), ['chromium', 'fonts-dejavu-core', 'coturn', 'haproxy']);
  t.ok(groups('build').includes('meson') && groups('build').includes('libsrtp2-dev'));
  const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
  t.match(ci, /ensure-system-packages\.sh build run browser ci/, 'CI installs from the same list');
  t.notMatch(ci, /MENTOR_LIVE_SKIP_BROWSER=1/, 'CI never opts out of the browser tests');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  t.match(pkg.scripts.postinstall!, /ensure-system-packages\.sh run\b/, 'npm install brings what the server runs with');
  t.match(pkg.scripts.pretest!, /ensure-system-packages\.sh run browser\b/, 'npm test brings the browser');
});

t.test('all installed: nothing to do, nothing said', async (t) => {
  const r = run(t, { installed: everything }, ['run', 'browser']);
  t.equal(r.code, 0);
  t.equal(r.stdout + r.stderr, '');
  t.equal(r.apt, '');
});

t.test('FFmpeg and Chromium missing, as root: apt-get installs exactly those', async (t) => {
  const r = run(t, { installed: without('ffmpeg', 'chromium') }, ['run', 'browser']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.apt, 'apt-get install -y --no-install-recommends ffmpeg chromium\n');
});

t.test('missing, not root, password-less sudo: installs through sudo', async (t) => {
  const r = run(t, { installed: without('ffmpeg'), uid: 1000, sudo: true }, ['run']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.apt, /^sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg\napt-get install -y --no-install-recommends ffmpeg\n$/);
});

t.test('missing, not root, no sudo: one line saying exactly what to install, exit 1', async (t) => {
  for (const sudo of [false, undefined]) {
    const r = run(t, { installed: without('ffmpeg', 'chromium'), uid: 1000, ...(sudo === undefined ? {} : { sudo }) }, ['run', 'browser']);
    t.equal(r.code, 1);
    t.equal(r.apt, '', 'apt-get not attempted');
    t.equal(r.stderr, '[packages] missing Debian packages; run this, then rerun the command: sudo apt-get install -y --no-install-recommends ffmpeg chromium\n');
  }
});

t.test('not Debian: the missing commands in one line, exit 1; present: exit 0', async (t) => {
  const missing = run(t, { uid: 1000 }, ['run', 'browser']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^\[packages\] not a Debian system \(no dpkg-query\): install with your package manager: FFmpeg\(ffmpeg,ffprobe\) Redis\(redis-server\) Chromium\(or set CHROMIUM_PATH\) coturn\(turnserver\) HAProxy\(haproxy\) \(Debian names: ffmpeg redis-server chromium fonts-dejavu-core coturn haproxy\), then rerun\n$/);
  const present = run(t, { uid: 1000, commands: ['ffmpeg', 'ffprobe', 'redis-server', 'chromium', 'turnserver', 'haproxy'] }, ['run', 'browser']);
  t.equal(present.code, 0, present.stderr);
});

t.test('MENTOR_LIVE_SKIP_BROWSER=1: Chromium not required, and said so', async (t) => {
  const r = run(t, { installed: without('chromium', 'fonts-dejavu-core'), uid: 1000, env: { MENTOR_LIVE_SKIP_BROWSER: '1' } }, ['run', 'browser']);
  t.equal(r.code, 0);
  t.match(r.stderr, /MENTOR_LIVE_SKIP_BROWSER=1: not installing the browser group \(Chromium\); browser tests will NOT run/);
});

/** A clean environment for a nested node/tap (the outer tap's variables would steer it). */
const cleanEnv = (extra: Record<string, string> = {}) => ({ PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`, HOME: process.env.HOME ?? '/root', ...extra });

t.test('a missing Chromium or FFmpeg fails with the line that installs it', async (t) => {
  const chromium = spawnSync(process.execPath, ['-e', `import('./test/helpers/browser.ts').then((m) => m.launchBrowser({ teardown() {} }))`], {
    cwd: root,
    env: cleanEnv({ CHROMIUM_PATH: '/nonexistent/chromium' }),
    encoding: 'utf8',
  });
  t.not(chromium.status, 0);
  t.match(chromium.stderr, /Chromium is not installed \(no \/nonexistent\/chromium\): sudo apt-get install -y --no-install-recommends chromium fonts-dejavu-core/);

  // A PATH where FFmpeg is not: the media helpers refuse at once.
  const bin = mkdtempSync(join(tmpdir(), 'ml-noffmpeg-'));
  t.teardown(() => rmSync(bin, { recursive: true, force: true }));
  const ffmpeg = spawnSync(process.execPath, ['-e', `import('./test/helpers/recording-media.ts')`], { cwd: root, env: { PATH: bin, HOME: '/root' }, encoding: 'utf8' });
  t.not(ffmpeg.status, 0);
  t.match(ffmpeg.stderr, /Cannot start: FFMPEG_PATH=ffmpeg does not run \(ENOENT\); install FFmpeg \(Debian: sudo apt-get install -y ffmpeg/);
});

t.test('MENTOR_LIVE_SKIP_BROWSER=1 npm test: browser tests counted as skipped, said loudly; unset, they run', async (t) => {
  const fixture = 'test/fixtures/opt-out.fixture.ts';
  const optedOut = spawnSync('bash', ['scripts/test.sh', '--reporter=tap', '--disable-coverage', fixture], { cwd: root, env: cleanEnv({ MENTOR_LIVE_SKIP_BROWSER: '1' }), encoding: 'utf8' });
  t.equal(optedOut.status, 0, optedOut.stdout + optedOut.stderr);
  t.match(optedOut.stdout, /# SKIP filter out: \/\^browser: \//);
  const summary = optedOut.stdout.match(/^# \{ total: .*\}$/m)?.[0] ?? '';
  const counts = Object.fromEntries([...summary.matchAll(/(\w+): (\d+)/g)].map((m) => [m[1], Number(m[2])]));
  t.equal(counts.skip, 1, "tap's summary counts it as skipped");
  t.equal(counts.fail, undefined, 'and nothing failed');
  t.equal(optedOut.stdout.match(/the browser tests did NOT run/g)?.length, 2, 'the banner before and after the run');

  const normal = spawnSync('bash', ['scripts/test.sh', '--reporter=tap', '--disable-coverage', fixture], { cwd: root, env: cleanEnv(), encoding: 'utf8' });
  t.not(normal.status, 0, 'without the opt-out the browser test runs (and this one fails on purpose)');
  t.match(normal.stdout, /ran although MENTOR_LIVE_SKIP_BROWSER=1/);
  t.notMatch(normal.stdout, /did NOT run/);
});
