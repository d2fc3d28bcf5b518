import { mkdirSync } from 'node:fs';
import { PGlite, types, type Transaction } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { runCommitted, type Db, type Isolation, type Queryable } from './types.ts';

type PgliteLike = PGlite | Transaction;

function queryable(client: PgliteLike, afterCommit: (fn: () => void) => void = (fn) => fn()): Queryable {
  return {
    afterCommit,
    async query(sql, params = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows as never[];
    },
    async one(sql, params = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.rows[0] as never;
    },
    async execute(sql, params = []) {
      const res = await client.query(sql, params as unknown[]);
      return res.affectedRows ?? 0;
    },
    async exec(script) {
      await client.exec(script);
    },
  };
}

/**
 * Embedded PostgreSQL (WASM) for a machine with no database server. Same SQL as
 * the real server; btree_gist is loaded because bookings rely on an exclusion
 * constraint. `dataDir` undefined keeps everything in memory.
 */
export async function createPgliteDb(dataDir: string | undefined): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(dataDir, {
    extensions: { btree_gist },
    parsers: { [types.INT8]: (v: string) => v },
  });
  let closed: Promise<void> | undefined;
  return {
    kind: 'pglite',
    ...queryable(pg),
    async tx<T>(fn: (q: Queryable) => Promise<T>, opts: { isolation?: Isolation } = {}) {
      // PGlite has a single connection and runs one transaction at a time, so every
      // transaction is effectively serializable; the level is still set for parity.
      const committed: Array<() => void> = [];
      const result = await pg.transaction(async (t) => {
        if (opts.isolation) await t.exec(`SET TRANSACTION ISOLATION LEVEL ${opts.isolation.toUpperCase()}`);
        return fn(queryable(t, (cb) => void committed.push(cb)));
      });
      runCommitted(committed);
      return result;
    },
    close() {
      closed ??= pg.close();
      return closed;
    },
  };
}
