import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './types.ts';

/**
 * A small runner of ordered SQL files (src/db/migrations/NNN_name.sql), chosen
 * over node-pg-migrate and friends because those speak only to a `pg` client,
 * and the same migrations must run on PGlite. Each pending file runs in one
 * transaction together with its bookkeeping row; an advisory lock keeps two
 * server processes from migrating at once; a changed applied file is refused.
 */
export const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

export interface Migration {
  version: string;
  sql: string;
  checksum: string;
}

export async function loadMigrations(dir = migrationsDir): Promise<Migration[]> {
  const files = (await readdir(dir)).filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const sql = await readFile(new URL(file, `file://${dir.endsWith('/') ? dir : dir + '/'}`), 'utf8');
      return { version: file.replace(/\.sql$/, ''), sql, checksum: createHash('sha256').update(sql).digest('hex') };
    }),
  );
}

const MIGRATION_LOCK = 727_401; // arbitrary, constant across processes

export async function migrate(db: Db, migrations?: Migration[]): Promise<string[]> {
  const all = migrations ?? (await loadMigrations());
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const applied: string[] = [];
  await db.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    const done = new Map(
      (await q.query<{ version: string; checksum: string }>('SELECT version, checksum FROM schema_migrations')).map((r) => [
        r.version,
        r.checksum,
      ]),
    );
    for (const m of all) {
      const known = done.get(m.version);
      if (known !== undefined) {
        if (known !== m.checksum) throw new Error(`Migration ${m.version} was changed after it was applied`);
        continue;
      }
      await q.exec(m.sql);
      await q.execute('INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)', [m.version, m.checksum]);
      applied.push(m.version);
    }
  });
  return applied;
}
