import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMigrations, migrate, SqlState, sqlStateOf, constraintOf } from '../src/db/index.ts';
import { seedDemoSchool } from '../src/school/index.ts';
import { createTestDb } from './helpers/db.ts';

// The same data-layer behaviour on real PostgreSQL and on embedded PGlite.
for (const store of ['pg', 'pglite'] as const) {
  t.test(`data layer on ${store}`, async (t) => {
    const { db } = await createTestDb(t, store);
    const demo = await seedDemoSchool(db);
    t.ok(demo, 'seeds an empty store');
    t.equal(await seedDemoSchool(db), undefined, 'does not seed twice');

    t.test('migrations are recorded and re-running applies nothing', async (t) => {
      t.same(await migrate(db), []);
      const rows = await db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
      t.same(rows.map((r) => r.version), (await loadMigrations()).map((m) => m.version));
    });

    t.test('a changed migration is refused', async (t) => {
      const all = await loadMigrations();
      const tampered = all.map((m, i) => (i === 0 ? { ...m, checksum: 'different' } : m));
      await t.rejects(migrate(db, tampered), /was changed after it was applied/);
    });

    t.test('int8 comes back as a string, timestamptz as a Date', async (t) => {
      const row = await db.one<{ n: string; at: Date }>('SELECT count(*) AS n, now() AS at FROM users');
      t.equal(row?.n, '6');
      t.ok(row?.at instanceof Date);
    });

    t.test('a transaction that throws leaves nothing behind', async (t) => {
      await t.rejects(
        db.tx(async (q) => {
          await q.execute(`UPDATE users SET name = 'changed' WHERE id = $1`, [demo!.student.id]);
          throw new Error('boom');
        }),
        /boom/,
      );
      const row = await db.one<{ name: string }>('SELECT name FROM users WHERE id = $1', [demo!.student.id]);
      t.equal(row?.name, demo!.student.name);
    });

    t.test('the exclusion constraint refuses overlapping sessions of one person and allows back-to-back', async (t) => {
      const base = Date.parse('2030-03-04T17:00:00Z');
      const insert = async (startMin: number, endMin: number) => {
        const s = await db.one<{ id: string }>(
          `INSERT INTO sessions (kind, enrollment_id, project_id, host_id, starts_at, ends_at) VALUES ('mentoring', $1, $2, $3, $4, $5) RETURNING id`,
          [demo!.enrollmentId, demo!.projectIds[0], demo!.mentor.id, new Date(base + startMin * 60_000), new Date(base + endMin * 60_000)],
        );
        await db.execute('INSERT INTO session_participants (session_id, user_id, role, starts_at, ends_at) VALUES ($1, $2, $3, $4, $5)', [
          s!.id,
          demo!.mentor.id,
          'mentor',
          new Date(base + startMin * 60_000),
          new Date(base + endMin * 60_000),
        ]);
      };
      await insert(0, 45);
      await insert(45, 90);
      const err = await insert(30, 75).catch((e: unknown) => e);
      t.equal(sqlStateOf(err), SqlState.exclusionViolation);
      t.equal(constraintOf(err), 'session_participants_no_overlap');
    });

    t.test('a path may not have EQF level 5, an enrollment without premium_plus may not have a mentor', async (t) => {
      const eqf = await db.execute(`INSERT INTO paths (slug, title, language, eqf_level, duration_months) VALUES ('x', 'x', 'en', 5, 6)`).catch((e: unknown) => e);
      t.equal(sqlStateOf(eqf), SqlState.checkViolation);
      const mentor = await db
        .execute(`UPDATE enrollments SET mentor_id = $1 WHERE id = $2`, [demo!.mentor.id, demo!.soloEnrollmentId])
        .catch((e: unknown) => e);
      t.equal(sqlStateOf(mentor), SqlState.checkViolation);
    });
  });
}

t.test('migration files must be named NNN_name.sql', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ml-mig-'));
  writeFileSync(join(dir, '002_b.sql'), 'SELECT 2;');
  writeFileSync(join(dir, '001_a.sql'), 'SELECT 1;');
  writeFileSync(join(dir, 'notes.txt'), 'ignored');
  const found = await loadMigrations(dir);
  t.same(found.map((m) => m.version), ['001_a', '002_b']);
});
