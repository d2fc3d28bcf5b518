import type { Db, Queryable } from '../db/index.ts';
import { hashPassword, verifyPassword, type Role } from '../auth/index.ts';

export interface DemoLogin {
  id: string;
  email: string;
  password: string;
  role: Role;
  name: string;
  timeZone: string;
}

export interface DemoSchool {
  pathId: string;
  projectIds: string[];
  /** premium_plus student with a mentor. */
  student: DemoLogin;
  /** premium_solo student: no mentoring, no defence. */
  soloStudent: DemoLogin;
  mentor: DemoLogin;
  jury: [DemoLogin, DemoLogin];
  coordinator: DemoLogin;
  enrollmentId: string;
  soloEnrollmentId: string;
}

const PEOPLE: Array<Omit<DemoLogin, 'id'> & { locale: 'en' | 'fr' | 'es'; key: string }> = [
  { key: 'student', email: 'student@demo.school', password: 'student-demo-1', role: 'student', name: 'Camille Tremblay', timeZone: 'America/Montreal', locale: 'fr' },
  { key: 'soloStudent', email: 'solo@demo.school', password: 'solo-demo-1', role: 'student', name: 'Lucía Romero', timeZone: 'Europe/Madrid', locale: 'es' },
  { key: 'mentor', email: 'mentor@demo.school', password: 'mentor-demo-1', role: 'mentor', name: 'Julien Moreau', timeZone: 'Europe/Paris', locale: 'fr' },
  { key: 'jury1', email: 'jury1@demo.school', password: 'jury-demo-1', role: 'jury', name: 'Priya Raman', timeZone: 'Asia/Kolkata', locale: 'en' },
  { key: 'jury2', email: 'jury2@demo.school', password: 'jury-demo-2', role: 'jury', name: 'Daniel Brooks', timeZone: 'America/New_York', locale: 'en' },
  { key: 'coordinator', email: 'coordinator@demo.school', password: 'coordinator-demo-1', role: 'coordinator', name: 'Sophie Laurent', timeZone: 'Europe/Paris', locale: 'fr' },
];

const PROJECTS = [
  ['Set up your developer environment', 'Git, a code editor and a first static page.'],
  ['Build a responsive web page', 'HTML and CSS that work from phone to desktop.'],
  ['Make a site dynamic with JavaScript', 'DOM, events and a fetch to an API.'],
  ['Build a single-page application with React', 'Components, state and routing.'],
  ['Test and debug a front-end application', 'Unit and end-to-end tests, profiling.'],
  ['Plan and deliver a front-end project', 'A client brief from specification to deployment.'],
] as const;

/**
 * Seeds a small school into an empty store: a "Front-end developer" path of six
 * projects, a premium_plus student (Montreal) with a mentor (Paris), a
 * premium_solo student, two jury members (Kolkata, half-hour offset, and New
 * York) and a coordinator. Returns undefined when users already exist.
 */
export async function seedDemoSchool(db: Db): Promise<DemoSchool | undefined> {
  const hashes = await Promise.all(PEOPLE.map((p) => hashPassword(p.password)));
  return db.tx(async (q) => {
    const existing = await q.one<{ n: string }>('SELECT count(*) AS n FROM users');
    if (existing && existing.n !== '0') return undefined;
    const people: Record<string, DemoLogin> = {};
    for (const [i, p] of PEOPLE.entries()) {
      const row = await q.one<{ id: string }>(
        'INSERT INTO users (email, name, role, time_zone, locale, password_hash) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id',
        [p.email, p.name, p.role, p.timeZone, p.locale, hashes[i]],
      );
      people[p.key] = { id: row!.id, email: p.email, password: p.password, role: p.role, name: p.name, timeZone: p.timeZone };
    }
    const path = await q.one<{ id: string }>(
      `INSERT INTO paths (slug, title, language, eqf_level, duration_months) VALUES ('front-end-developer', 'Front-end developer', 'en', 6, 12) RETURNING id`,
    );
    const projectIds: string[] = [];
    for (const [i, [title, description]] of PROJECTS.entries()) {
      const row = await q.one<{ id: string }>('INSERT INTO projects (path_id, position, title, description) VALUES ($1, $2, $3, $4) RETURNING id', [
        path!.id,
        i + 1,
        title,
        description,
      ]);
      projectIds.push(row!.id);
    }
    const enroll = async (studentId: string, mentorId: string | null, tier: string) => {
      const row = await q.one<{ id: string }>(
        `INSERT INTO enrollments (student_id, path_id, mentor_id, tier, started_at) VALUES ($1, $2, $3, $4, now() - interval '90 days') RETURNING id`,
        [studentId, path!.id, mentorId, tier],
      );
      for (const [i, projectId] of projectIds.entries()) {
        await q.execute('INSERT INTO project_progress (enrollment_id, project_id, state) VALUES ($1, $2, $3)', [row!.id, projectId, i === 0 ? 'in_progress' : 'locked']);
      }
      return row!.id;
    };
    const enrollmentId = await enroll(people.student!.id, people.mentor!.id, 'premium_plus');
    const soloEnrollmentId = await enroll(people.soloStudent!.id, null, 'premium_solo');
    return {
      pathId: path!.id,
      projectIds,
      student: people.student!,
      soloStudent: people.soloStudent!,
      mentor: people.mentor!,
      jury: [people.jury1!, people.jury2!],
      coordinator: people.coordinator!,
      enrollmentId,
      soloEnrollmentId,
    };
  });
}

/**
 * The demo accounts the store holds that still open with their demo password,
 * in the seed's order: what `npm start` prints at every start (not only the
 * one that seeded), so whoever starts the server knows how to log in.
 */
export async function demoLogins(q: Queryable): Promise<Array<Omit<DemoLogin, 'id'>>> {
  const rows = await q.query<{ email: string; role: Role; name: string; time_zone: string; password_hash: string }>(
    'SELECT email, role, name, time_zone, password_hash FROM users WHERE email = ANY($1)',
    [PEOPLE.map((p) => p.email)],
  );
  const byEmail = new Map(rows.map((r) => [r.email, r]));
  const checked = await Promise.all(
    PEOPLE.map(async (p) => {
      const row = byEmail.get(p.email);
      return row && (await verifyPassword(p.password, row.password_hash)) ? { email: p.email, password: p.password, role: row.role, name: row.name, timeZone: row.time_zone } : undefined;
    }),
  );
  return checked.filter((login) => login !== undefined);
}
