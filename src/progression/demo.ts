import type { Queryable } from '../db/index.ts';
import type { DemoSchool } from '../school/index.ts';

/** Demo data of progression: the competence blocks the jury marks on the demo path. */
export async function seedProgressionDemo(db: Queryable, demo: DemoSchool): Promise<void> {
  await db.execute(
    `INSERT INTO competence_blocks (path_id, code, title, position) VALUES
       ($1, 'B1', 'Design and build accessible, responsive interfaces', 1),
       ($1, 'B2', 'Develop dynamic front-end applications', 2),
       ($1, 'B3', 'Test, deliver and maintain a front-end project', 3)
     ON CONFLICT DO NOTHING`,
    [demo.pathId],
  );
}
