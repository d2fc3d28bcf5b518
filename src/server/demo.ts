import type { Db } from '../db/index.ts';
import type { DemoSchool } from '../school/index.ts';
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
