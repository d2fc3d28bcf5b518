import { createPgliteDb } from './pglite.ts';
import { createPostgresDb } from './postgres.ts';
export { checkPostgres } from './postgres.ts';
import type { Db } from './types.ts';

export type { Db, Queryable, Isolation } from './types.ts';
export { SqlState, sqlStateOf, constraintOf } from './types.ts';
export { migrate, loadMigrations } from './migrate.ts';

export interface DbConfig {
  /** postgres://… ; undefined selects embedded PGlite. */
  databaseUrl: string | undefined;
  /** Where PGlite keeps its files; undefined keeps it in memory. */
  pgliteDir: string | undefined;
  /** Connections in the pg pool (PostgreSQL only). */
  poolSize?: number;
}

export async function openDb(config: DbConfig): Promise<Db> {
  return config.databaseUrl ? createPostgresDb(config.databaseUrl, { max: config.poolSize }) : createPgliteDb(config.pgliteDir);
}
