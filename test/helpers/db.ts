import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { migrate, openDb, type Db } from '../../src/db/index.ts';

/** The part of a tap Test the helpers need. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** Admin connection used to create one database per test file. */
export const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/**
 * A fresh, migrated database for one test file: a new PostgreSQL database
 * (dropped at teardown) so test files can run in parallel, or an in-memory
 * PGlite with store = 'pglite'.
 */
export async function createTestDb(t: Teardown, store: 'pg' | 'pglite' = 'pg'): Promise<{ db: Db; url: string | undefined }> {
  if (store === 'pglite') {
    const dir = mkdtempSync(join(tmpdir(), 'ml-pglite-'));
    const db = await openDb({ databaseUrl: undefined, pgliteDir: dir });
    await migrate(db);
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    return { db, url: undefined };
  }
  const name = `t_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: url.toString(), pgliteDir: undefined });
  await migrate(db);
  t.teardown(async () => {
    await db.close();
    const cleanup = new pg.Client({ connectionString: adminUrl });
    await cleanup.connect();
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await cleanup.end();
  });
  return { db, url: url.toString() };
}
