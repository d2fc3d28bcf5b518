import t from 'tap';
import { demoLogins } from '../src/school/index.ts';
import { seedDemo } from '../src/server/demo.ts';
import { createTestDb } from './helpers/db.ts';

t.test('the demo is seeded whole or not at all, and its logins are read back from the store', async (t) => {
  const { db } = await createTestDb(t, 'pg');
  // A capability's part of the demo fails (after the school's people are in).
  await db.exec(`
    CREATE FUNCTION refuse_demo() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'demo refused'; END $$;
    CREATE TRIGGER refuse_demo BEFORE INSERT ON competence_blocks FOR EACH STATEMENT EXECUTE FUNCTION refuse_demo();`);
  await t.rejects(seedDemo(db), /demo refused/);
  t.same(await db.query('SELECT email FROM users'), [], 'nothing of the failed seed is left');
  t.same(await db.query('SELECT id FROM sessions'), []);
  t.same(await demoLogins(db), [], 'no demo logins to print');

  await db.exec('DROP TRIGGER refuse_demo ON competence_blocks; DROP FUNCTION refuse_demo();');
  const demo = await seedDemo(db);
  t.ok(demo, 'the next start seeds the whole demo');
  t.equal((await db.query('SELECT id FROM sessions')).length, 1, 'with its session');
  t.equal(await seedDemo(db), undefined, 'and only once');

  const logins = await demoLogins(db);
  t.same(
    logins.map((l) => [l.role, l.email, l.password]),
    [
      ['student', 'student@demo.school', 'student-demo-1'],
      ['student', 'solo@demo.school', 'solo-demo-1'],
      ['mentor', 'mentor@demo.school', 'mentor-demo-1'],
      ['jury', 'jury1@demo.school', 'jury-demo-1'],
      ['jury', 'jury2@demo.school', 'jury-demo-2'],
      ['coordinator', 'coordinator@demo.school', 'coordinator-demo-1'],
    ],
    'every demo account, in order, as printed at each start',
  );
  await db.execute(`UPDATE users SET password_hash = 'changed' WHERE email = 'mentor@demo.school'`);
  t.notOk((await demoLogins(db)).some((l) => l.email === 'mentor@demo.school'), 'an account whose password changed is not printed');
});
