import type { Db } from '../db/index.ts';
import type { DemoSchool } from '../school/index.ts';

/**
 * Demo data beyond the school itself (availability, a session to join, …):
 * each capability adds its part here as it lands.
 */
export async function seedDemoExtras(_db: Db, _demo: DemoSchool): Promise<void> {}
