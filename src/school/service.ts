import type { Queryable } from '../db/index.ts';
import { forbidden, notFound } from '../shared/errors.ts';

export type Tier = 'free' | 'premium_solo' | 'premium_plus';
export type ProgressState = 'locked' | 'in_progress' | 'submitted' | 'validated' | 'needs_revision';
import type { Viewer } from '../auth/index.ts';
export type { Viewer };

export interface Project {
  id: string;
  position: number;
  title: string;
  description: string;
}

export interface Path {
  id: string;
  slug: string;
  title: string;
  language: 'en' | 'fr' | 'es';
  eqfLevel: 6 | 7;
  durationMonths: number;
  projects: Project[];
}

export interface Enrollment {
  id: string;
  studentId: string;
  pathId: string;
  mentorId: string | null;
  tier: Tier;
  startedAt: Date;
  status: 'active' | 'completed' | 'withdrawn';
}

export interface ProjectProgress extends Project {
  state: ProgressState;
  updatedAt: Date;
}

const ENROLLMENT_COLUMNS = `id, student_id AS "studentId", path_id AS "pathId", mentor_id AS "mentorId", tier,
  started_at AS "startedAt", status`;

export async function listPaths(db: Queryable): Promise<Path[]> {
  const paths = await db.query<Omit<Path, 'projects'>>(
    `SELECT id, slug, title, language, eqf_level AS "eqfLevel", duration_months AS "durationMonths" FROM paths ORDER BY title`,
  );
  const projects = await db.query<Project & { pathId: string }>(
    'SELECT id, path_id AS "pathId", position, title, description FROM projects ORDER BY path_id, position',
  );
  return paths.map((p) => ({
    ...p,
    projects: projects.filter((x) => x.pathId === p.id).map(({ pathId: _p, ...project }) => project),
  }));
}

export async function getPath(db: Queryable, pathId: string): Promise<Path> {
  const path = (await listPaths(db)).find((p) => p.id === pathId);
  if (!path) throw notFound('path_not_found', 'No such learning path');
  return path;
}

export async function findEnrollment(db: Queryable, enrollmentId: string): Promise<Enrollment | undefined> {
  return db.one<Enrollment>(`SELECT ${ENROLLMENT_COLUMNS} FROM enrollments WHERE id = $1`, [enrollmentId]);
}

export async function enrollmentsOfStudent(db: Queryable, studentId: string): Promise<Enrollment[]> {
  return db.query<Enrollment>(`SELECT ${ENROLLMENT_COLUMNS} FROM enrollments WHERE student_id = $1 ORDER BY started_at`, [studentId]);
}

/** The student's enrollment that is being followed now (active first, then the latest). */
export async function currentEnrollment(db: Queryable, studentId: string): Promise<Enrollment> {
  const row = await db.one<Enrollment>(
    `SELECT ${ENROLLMENT_COLUMNS} FROM enrollments WHERE student_id = $1
      ORDER BY (status = 'active') DESC, started_at DESC LIMIT 1`,
    [studentId],
  );
  if (!row) throw notFound('enrollment_not_found', 'This student is not enrolled in a path');
  return row;
}

export async function progressOf(db: Queryable, enrollmentId: string): Promise<ProjectProgress[]> {
  return db.query<ProjectProgress>(
    `SELECT pr.id, pr.position, pr.title, pr.description, COALESCE(pp.state, 'locked') AS state,
            COALESCE(pp.updated_at, e.started_at) AS "updatedAt"
       FROM enrollments e
       JOIN projects pr ON pr.path_id = e.path_id
       LEFT JOIN project_progress pp ON pp.enrollment_id = e.id AND pp.project_id = pr.id
      WHERE e.id = $1
      ORDER BY pr.position`,
    [enrollmentId],
  );
}

/** A project's state in an enrollment ('locked' until unlocked), or undefined when the project is not part of its path. */
export async function projectStateOf(db: Queryable, enrollmentId: string, projectId: string): Promise<ProgressState | undefined> {
  const row = await db.one<{ state: ProgressState }>(
    `SELECT COALESCE(pp.state, 'locked') AS state
       FROM enrollments e
       JOIN projects pr ON pr.path_id = e.path_id AND pr.id = $2
       LEFT JOIN project_progress pp ON pp.enrollment_id = e.id AND pp.project_id = pr.id
      WHERE e.id = $1`,
    [enrollmentId, projectId],
  );
  return row?.state;
}

/**
 * Mentoring sessions and defences are part of the premium_plus membership
 * only; free and premium_solo students learn without a mentor.
 */
export function assertPremiumPlus(enrollment: Enrollment): void {
  if (enrollment.tier !== 'premium_plus') {
    throw forbidden('premium_plus_required', `Mentoring sessions and defences need the premium_plus membership (this enrollment is ${enrollment.tier})`, {
      tier: enrollment.tier,
    });
  }
}

/**
 * Ownership rule for anything about a student (enrollment, progress): the
 * student, their assigned mentor, a jury member sitting on one of their
 * defences, or a coordinator. Others get 403 without learning anything else.
 */
export async function assertCanViewStudent(db: Queryable, viewer: Viewer, studentId: string): Promise<void> {
  if (viewer.role === 'coordinator' || viewer.userId === studentId) return;
  if (viewer.role === 'mentor') {
    const row = await db.one('SELECT 1 FROM enrollments WHERE student_id = $1 AND mentor_id = $2', [studentId, viewer.userId]);
    if (row) return;
  }
  if (viewer.role === 'jury') {
    const row = await db.one(
      `SELECT 1 FROM sessions s
         JOIN enrollments e ON e.id = s.enrollment_id
         JOIN session_participants p ON p.session_id = s.id AND p.user_id = $2 AND p.role = 'jury'
        WHERE e.student_id = $1 AND s.kind = 'defence'`,
      [studentId, viewer.userId],
    );
    if (row) return;
  }
  throw forbidden('not_your_student', 'You may not see this student');
}

export interface StudentSummary {
  id: string;
  name: string;
  email: string;
  timeZone: string;
  enrollmentId: string;
  pathId: string;
  tier: Tier;
}

export async function studentsOfMentor(db: Queryable, mentorId: string): Promise<StudentSummary[]> {
  return db.query<StudentSummary>(
    `SELECT u.id, u.name, u.email, u.time_zone AS "timeZone", e.id AS "enrollmentId", e.path_id AS "pathId", e.tier
       FROM enrollments e JOIN users u ON u.id = e.student_id
      WHERE e.mentor_id = $1 ORDER BY u.name`,
    [mentorId],
  );
}
