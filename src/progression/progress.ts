import { assertCanViewStudent, currentEnrollment, getPath, progressOf, type Viewer } from '../school/index.ts';
import { listSessionsOfUser } from '../sessions/index.ts';
import { attendanceStatus, type AttendanceStatus } from './attended.ts';
import { defenceStateFor, defencesOfEnrollment, diplomaOfEnrollment, type DefenceState, type Diploma } from './defences.ts';
import type { ProgressionDeps } from './deps.ts';
import { evaluationsOfEnrollment, type CodeReviewComment } from './evaluations.ts';

export interface StudentProgress {
  studentId: string;
  enrollment: { id: string; status: string; tier: string; mentorId: string | null; startedAt: string };
  path: { id: string; slug: string; title: string; eqfLevel: number; durationMonths: number };
  projects: Array<{ id: string; position: number; title: string; state: string; updatedAt: string }>;
  validatedCount: number;
  sessions: Array<{ id: string; kind: string; projectId: string | null; startsAt: string; endsAt: string; status: string; attendance: AttendanceStatus }>;
  evaluations: Array<{
    id: string;
    sessionId: string;
    projectId: string;
    mentorId: string;
    outcome: string;
    feedback: string;
    codeReviewComments: CodeReviewComment[];
    createdAt: string;
  }>;
  defences: DefenceState[];
  diploma: Diploma | null;
}

/** Everything about a student's path at once: what the student, their mentor, their jury or a coordinator sees. */
export async function studentProgress(deps: ProgressionDeps, studentId: string, viewer: Viewer): Promise<StudentProgress> {
  const { db, clock } = deps;
  await assertCanViewStudent(db, viewer, studentId);
  const enrollment = await currentEnrollment(db, studentId);
  const [path, projects, evaluations, defences, diploma] = await Promise.all([
    getPath(db, enrollment.pathId),
    progressOf(db, enrollment.id),
    evaluationsOfEnrollment(db, enrollment.id),
    defencesOfEnrollment(deps, enrollment.id),
    diplomaOfEnrollment(db, enrollment.id),
  ]);
  const now = clock.now();
  const sessions = (await listSessionsOfUser(db, studentId, new Date(0), new Date('9999-01-01T00:00:00Z'))).filter((s) => s.enrollmentId === enrollment.id);
  return {
    studentId,
    enrollment: {
      id: enrollment.id,
      status: enrollment.status,
      tier: enrollment.tier,
      mentorId: enrollment.mentorId,
      startedAt: enrollment.startedAt.toISOString(),
    },
    path: { id: path.id, slug: path.slug, title: path.title, eqfLevel: path.eqfLevel, durationMonths: path.durationMonths },
    projects: projects.map((p) => ({ id: p.id, position: p.position, title: p.title, state: p.state, updatedAt: p.updatedAt.toISOString() })),
    validatedCount: projects.filter((p) => p.state === 'validated').length,
    sessions: await Promise.all(
      sessions.map(async (s) => ({
        id: s.id,
        kind: s.kind,
        projectId: s.projectId,
        startsAt: s.startsAt.toISOString(),
        endsAt: s.endsAt.toISOString(),
        status: s.status,
        attendance: await attendanceStatus(db, s, studentId, now),
      })),
    ),
    evaluations: evaluations.map((e) => ({
      id: e.id,
      sessionId: e.sessionId,
      projectId: e.projectId,
      mentorId: e.mentorId,
      outcome: e.outcome,
      feedback: e.feedback,
      codeReviewComments: e.codeReviewComments,
      createdAt: e.createdAt.toISOString(),
    })),
    // An unconfirmed verdict stays with the panel and coordinators (issue 13): the student and their mentor see none.
    defences: defences.map((d) => defenceStateFor(viewer, d)),
    diploma: diploma ?? null,
  };
}
