import pg from 'pg';
import { runCommitted, type Db, type Isolation, type Queryable } from './types.ts';

// int8 (e.g. count(*)) as string, like PGlite is configured to do: one behaviour everywhere.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

function queryable(client: pg.Pool | pg.PoolClient, afterCommit: (fn: () => void) => void = (fn) => fn()): Queryable {
  return {
    afterCommit,
    async query(sql, params = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows;
    },
    async one(sql, params = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows[0];
    },
    async execute(sql, params = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.rowCount ?? 0;
    },
    async exec(script) {
      await client.query(script);
    },
  };
}

/**
 * Connects once and lets go, so a server that cannot reach its database says
 * so at start within `timeoutMs` (the pool itself waits for ever on an
 * unreachable host: it has no connect timeout, on purpose, see below).
 */
export async function checkPostgres(connectionString: string, timeoutMs = 5_000): Promise<void> {
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function createPostgresDb(connectionString: string, options: { max?: number } = {}): Db {
  // 20, not pg's 10: a room join runs ~8 short queries (entry check, presence,
  // attendance, defence state); under the 1,000-client signalling benchmark
  // joins queued for a pooled connection, and 20 cut the join-ack p50 about
  // 2.5× (BENCHMARKS.md, load-tests/experiments/db-pool.ts).
  const pool = new pg.Pool({ connectionString, max: options.max ?? 20 });
  // An idle client that loses its connection emits 'error' on the pool; without a
  // listener that would crash the process. The pool replaces the client.
  pool.on('error', (err) => console.error('[db] idle client error', err.message));
  const base = queryable(pool);
  let closed: Promise<void> | undefined;
  return {
    kind: 'pg',
    ...base,
    async tx<T>(fn: (q: Queryable) => Promise<T>, opts: { isolation?: Isolation } = {}) {
      const client = await pool.connect();
      const committed: Array<() => void> = [];
      try {
        await client.query(opts.isolation ? `BEGIN ISOLATION LEVEL ${opts.isolation.toUpperCase()}` : 'BEGIN');
        const result = await fn(queryable(client, (cb) => void committed.push(cb)));
        await client.query('COMMIT');
        runCommitted(committed);
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close() {
      closed ??= pool.end();
      return closed;
    },
  };
}
