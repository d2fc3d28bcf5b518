import type { Db, Queryable } from '../db/index.ts';
import { seedDemoSchool, type DemoSchool } from '../school/index.ts';
import { seedSchedulingDemo } from '../scheduling/index.ts';
import { seedProgressionDemo } from '../progression/index.ts';

/**
 * Demo data beyond the school itself (availability, a session to join, …):
 * each capability adds its part here as it lands.
 */
export async function seedDemoExtras(db: Db, demo: DemoSchool): Promise<void> {
  // Scheduling: the mentor's and jury's weekly availability, and a mentoring
  // session starting a few minutes from now (its room can be joined at once).
  await seedSchedulingDemo(db, demo);
  // Progression: the competence blocks the jury marks at the demo path's defence.
  await seedProgressionDemo(db, demo);
}

/**
 * The whole demo (school and every capability's part) in ONE transaction on an
 * empty store: a start that fails half-way leaves an empty store, which the
 * next start seeds again, never a school without its extras. The seeders each
 * open their own transaction; inside this one, `tx` joins the outer
 * transaction instead of opening a second one.
 */
export async function seedDemo(db: Db): Promise<DemoSchool | undefined> {
  return db.tx(async (q) => {
    const joined: Db = { ...(q as Queryable), kind: db.kind, tx: (fn) => fn(q), close: async () => undefined };
    const demo = await seedDemoSchool(joined);
    if (demo) await seedDemoExtras(joined, demo);
    return demo;
  });
}
