import { randomBytes } from 'node:crypto';
import { seedDemoSchool, type DemoSchool } from '../../src/school/index.ts';
import type { Db } from '../../src/db/index.ts';
import { api, deleteRedisPrefix, TEST_JWT_SECRET, testRedisUrl } from './app.ts';
import { createTestDb, type Teardown } from './db.ts';
import { insertDemoDefence, insertDemoMentoring } from './sessions.ts';
import { serverProcessEnv, startServerProcess, stopProcess, type ServerProcess } from './server-process.ts';
import { clusterNodeEnv } from '../../support/cluster.ts';

export { joinThrough } from '../../support/cluster.ts';

export interface ClusterNode {
  id: string;
  url: string;
  env: Record<string, string>;
  proc: ServerProcess;
}

export interface Cluster {
  db: Db;
  demo: DemoSchool;
  prefix: string;
  nodes: ClusterNode[];
  byUrl(url: string): ClusterNode;
  login(who: { email: string; password: string }, via?: ClusterNode): Promise<string>;
}

/**
 * N server processes started as `npm start` starts them (src/server/main.ts),
 * each with its own port, node id and public URL, on one PostgreSQL database
 * (the demo school seeded) and one Redis prefix: a deployment behind a load
 * balancer, on this machine. Killed at teardown if still running. `redisUrl`:
 * another Redis than the shared test one (a private one the test may restart).
 * `nodeEnv`: settings of one node alone (its ROOMS_NODE_URL behind a balancer).
 */
export async function startCluster(
  t: Teardown,
  ids: string[],
  extraEnv: Record<string, string> = {},
  options: { redisUrl?: string; nodeEnv?: (id: string) => Record<string, string> } = {},
): Promise<Cluster> {
  const redisUrl = options.redisUrl ?? testRedisUrl;
  const { db, url: databaseUrl } = await createTestDb(t, 'pg');
  const demo = (await seedDemoSchool(db))!;
  const prefix = `t${randomBytes(4).toString('hex')}`;
  if (redisUrl === testRedisUrl) t.teardown(() => deleteRedisPrefix(redisUrl, prefix));
  const nodes = await Promise.all(
    ids.map(async (id) => {
      const { env, url } = await serverProcessEnv(t, { databaseUrl: databaseUrl!, redisUrl, redisPrefix: prefix });
      return { id, url, env };
    }),
  );
  const urls = nodes.map((n) => n.url);
  for (const node of nodes) node.env = { ...node.env, ...clusterNodeEnv(node, urls), JWT_SECRET: TEST_JWT_SECRET, SEED_DEMO: 'false', ...extraEnv, ...options.nodeEnv?.(node.id) };
  const started: ClusterNode[] = [];
  t.teardown(async () => {
    await Promise.all(started.map((n) => stopProcess(n.proc.child, 'SIGKILL')));
  });
  // One after another: two cores, and each start loads the whole server.
  for (const node of nodes) started.push({ ...node, proc: await startServerProcess(node.env) });
  return {
    db,
    demo,
    prefix,
    nodes: started,
    byUrl: (url) => started.find((n) => n.url === url)!,
    async login(who, via = started[0]!) {
      const res = await api(via.url, 'POST', '/auth/login', undefined, { email: who.email, password: who.password });
      if (res.status !== 200) throw new Error(`login of ${who.email} failed: ${res.status}`);
      return res.body.accessToken as string;
    },
  };
}

let slot = 0;

/**
 * A mentoring session of the demo student and mentor that may be entered now,
 * for nodes started with ROOM_JOIN_EARLY_MINUTES and ROOM_GRACE_AFTER_END_MINUTES
 * of 120 (see startCluster): each call takes the next 50-second slot from an
 * hour ago on, as one person's sessions may not overlap.
 */
export function enterableSession(db: Db, demo: DemoSchool, kind: 'mentoring' | 'defence' = 'mentoring'): Promise<string> {
  const startsAt = Date.now() - 60 * 60_000 + slot++ * 60_000;
  if (kind === 'defence') {
    return insertDemoDefence(db, demo, { startsAt: new Date(startsAt), endsAt: new Date(startsAt + 50_000) });
  }
  return insertDemoMentoring(db, demo, { startsAt: new Date(startsAt), endsAt: new Date(startsAt + 50_000) });
}
