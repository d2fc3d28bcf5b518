import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { Teardown } from './db.ts';
import { CHROMIUM_ARGS, CHROMIUM_MISSING, chromiumPath } from './browser.ts';

/**
 * A Linux network namespace joined to the host by a veth pair: a browser
 * launched inside it has its own network, which the test cuts completely
 * (`ip link set <host side> down`: nothing in or out, media and signalling
 * alike, while its TCP sockets stay open) and restores. `setOffline` is not
 * enough (it stops signalling, not WebRTC's UDP), and headless Chromium has
 * no separate network-service process to pause.
 *
 * Needs root (CAP_SYS_ADMIN for `ip netns`, CAP_NET_ADMIN for the links),
 * iproute2 and the veth module; a machine without them fails the test with
 * what is missing (no skip).
 */
export interface NetNs {
  name: string;
  /** Host side of the veth pair (the one cut), e.g. 10.201.7.1: reachable from the host and from inside. */
  hostAddress: string;
  /** Inside address, e.g. 10.201.7.2. */
  innerAddress: string;
  /** `down`: nothing passes until `up`. */
  link(state: 'up' | 'down'): void;
}

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

const NEEDS =
  'a network-namespace test needs root with CAP_SYS_ADMIN and CAP_NET_ADMIN (a container: --cap-add NET_ADMIN --cap-add SYS_ADMIN, or --privileged), iproute2 (`apt-get install -y iproute2`) and the veth kernel module';

/** Creates the namespace and its link (up), removed at teardown, even after a failure half-way. */
export function createNetNs(t: Teardown): NetNs {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error(`no \`ip\` command: ${NEEDS}`);
  }
  const id = randomBytes(3).toString('hex');
  const name = `ml${id}`;
  const host = `vh${id}`;
  const inner = `vn${id}`;
  // A /30 of 10.201.0.0/16 no other run on this machine uses.
  const used = ip('-4', '-o', 'addr', 'show');
  let x = randomInt(1, 255);
  for (let tries = 0; used.includes(`10.201.${x}.`) && tries < 300; tries++) x = (x % 254) + 1;
  const hostAddress = `10.201.${x}.1`;
  const innerAddress = `10.201.${x}.2`;
  t.teardown(() => {
    // Deleting one end deletes the pair; the namespace goes when its last process (the browser) has.
    for (const args of [['link', 'del', host], ['netns', 'del', name]]) {
      try {
        ip(...args);
      } catch {
        /* not created, or already gone */
      }
    }
  });
  const step = (what: string, ...args: string[]) => {
    try {
      ip(...args);
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? err).trim();
      throw new Error(`cannot ${what} (\`ip ${args.join(' ')}\`: ${stderr}): ${NEEDS}`);
    }
  };
  step('create a network namespace', 'netns', 'add', name);
  step('create a veth pair', 'link', 'add', host, 'type', 'veth', 'peer', 'name', inner);
  step('move a link into the namespace', 'link', 'set', inner, 'netns', name);
  step('address the host side', 'addr', 'add', `${hostAddress}/30`, 'dev', host);
  step('address the inside', '-n', name, 'addr', 'add', `${innerAddress}/30`, 'dev', inner);
  step('bring the loopback up', '-n', name, 'link', 'set', 'lo', 'up');
  step('bring the inside up', '-n', name, 'link', 'set', inner, 'up');
  step('bring the host side up', 'link', 'set', host, 'up');
  return {
    name,
    hostAddress,
    innerAddress,
    link(state) {
      ip('link', 'set', host, state);
    },
  };
}

/**
 * Headless Chromium inside the namespace: playwright-core launches a wrapper
 * that execs it through `ip netns exec` (its pipe on fds 3/4 passes through).
 * `origin` (the server as seen from inside, plain http on a non-loopback
 * address) is treated as secure, or the page would get no camera or mic.
 */
export async function launchBrowserIn(t: Teardown, ns: NetNs, origin: string): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(CHROMIUM_MISSING);
  const tmp = mkdtempSync(join(tmpdir(), 'ml-chromium-ns-'));
  const wrapper = join(tmp, 'chromium-in-netns');
  writeFileSync(wrapper, `#!/bin/sh\nexec ip netns exec ${ns.name} ${chromiumPath} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const browser = await chromium.launch({
    executablePath: wrapper,
    args: [...CHROMIUM_ARGS, `--unsafely-treat-insecure-origin-as-secure=${origin}`],
    headless: true,
    env: { ...process.env, TMPDIR: tmp },
  });
  t.teardown(async () => {
    try {
      ns.link('up'); // a browser whose link is cut would say goodbye to nobody
    } catch {
      /* the link is already gone */
    }
    await browser.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
  });
  return browser;
}
