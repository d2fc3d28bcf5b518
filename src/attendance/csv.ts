import type { Queryable } from '../db/index.ts';
import type { Session } from '../sessions/index.ts';
import type { AttendanceService, SessionAttendance } from './service.ts';

/** The auditor's columns, one row per session and participant. Times are UTC (ISO 8601). */
export const CSV_COLUMNS = [
  'session_id',
  'session_kind',
  'path_title',
  'project_title',
  'student_name',
  'scheduled_start_utc',
  'scheduled_end_utc',
  'scheduled_seconds',
  'session_status',
  'record_state',
  'finalized_at_utc',
  'participant_id',
  'participant_name',
  'participant_email',
  'participant_role',
  'attendance_status',
  'late',
  'left_early',
  'first_join_utc',
  'last_leave_utc',
  'lateness_seconds',
  'attended_seconds',
  'network_gaps',
  'network_gap_seconds',
  'mic_seconds',
  'camera_seconds',
  'screen_seconds',
  'transport_failures',
  'presence_intervals_utc',
  'presence_events',
  'no_show_marked_at_utc',
  'corrected',
  'correction_history',
] as const;

/** RFC 4180 quoting, and a leading quote on values a spreadsheet would run as a formula. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let s = typeof value === 'string' ? value : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (values: readonly unknown[]): string => `${values.map(csvField).join(',')}\r\n`;

export interface ExportQuery {
  pathId: string;
  from: Date;
  to: Date;
  /** A cohort: only students whose enrollment started in [start, end) (an intake month). */
  cohort?: { start: Date; end: Date };
}

interface ExportSessionRow {
  id: string;
  kind: Session['kind'];
  enrollmentId: string;
  projectId: string | null;
  hostId: string;
  startsAt: Date;
  endsAt: Date;
  status: Session['status'];
  sequence: number;
  updatedAt: Date;
  pathTitle: string;
  projectTitle: string | null;
  studentName: string;
}

/**
 * The CSV of a path's sessions starting in [from, to), streamed: sessions are
 * read in pages by keyset (starts_at, id), so memory holds one page at a time
 * whatever the range. Cancelled sessions are left out.
 */
export async function* exportAttendanceCsv(db: Queryable, service: AttendanceService, query: ExportQuery, pageSize = 100): AsyncGenerator<string> {
  yield csvLine(CSV_COLUMNS);
  let after: { startsAt: Date; id: string } | undefined;
  for (;;) {
    const page = await db.query<ExportSessionRow>(
      `SELECT s.id, s.kind, s.enrollment_id AS "enrollmentId", s.project_id AS "projectId", s.host_id AS "hostId",
              s.starts_at AS "startsAt", s.ends_at AS "endsAt", s.status, s.sequence, s.updated_at AS "updatedAt",
              p.title AS "pathTitle", pr.title AS "projectTitle", u.name AS "studentName"
         FROM sessions s
         JOIN enrollments e ON e.id = s.enrollment_id
         JOIN paths p ON p.id = e.path_id
         JOIN users u ON u.id = e.student_id
         LEFT JOIN projects pr ON pr.id = s.project_id
        WHERE e.path_id = $1 AND s.starts_at >= $2 AND s.starts_at < $3 AND s.status <> 'cancelled'
          AND ($4::timestamptz IS NULL OR (s.starts_at, s.id) > ($4::timestamptz, $5::uuid))
          AND ($7::timestamptz IS NULL OR (e.started_at >= $7::timestamptz AND e.started_at < $8::timestamptz))
        ORDER BY s.starts_at, s.id
        LIMIT $6`,
      [query.pathId, query.from, query.to, after?.startsAt ?? null, after?.id ?? null, pageSize, query.cohort?.start ?? null, query.cohort?.end ?? null],
    );
    if (page.length === 0) return;
    const attendance = await service.sessionsAttendance(page);
    for (const [i, s] of page.entries()) {
      yield* rowsOf(s, attendance[i]!);
    }
    const last = page[page.length - 1]!;
    after = { startsAt: last.startsAt, id: last.id };
    if (page.length < pageSize) return;
  }
}

function* rowsOf(s: ExportSessionRow, a: SessionAttendance): Generator<string> {
  const scheduledSeconds = Math.floor(s.endsAt.getTime() / 1000) - Math.floor(s.startsAt.getTime() / 1000);
  for (const p of a.participants) {
    yield csvLine([
      s.id,
      s.kind,
      s.pathTitle,
      s.projectTitle,
      s.studentName,
      a.startsAt,
      a.endsAt,
      scheduledSeconds,
      s.status,
      a.state,
      a.finalizedAt,
      p.userId,
      p.name,
      p.email,
      p.role,
      p.status,
      p.late,
      p.leftEarly,
      p.firstJoinAt,
      p.lastLeaveAt,
      p.latenessSeconds,
      p.attendedSeconds,
      p.networkGaps,
      p.networkGapSeconds,
      p.micSeconds,
      p.cameraSeconds,
      p.screenSeconds,
      p.transportFailures,
      p.intervals.map((i) => `${i.from}/${i.to ?? ''}`).join(' '),
      p.presenceEvents,
      p.noShowMarkedAt,
      p.corrected,
      p.corrections.map((c) => `${c.at} by ${c.by} ${c.before.status}->${c.after.status} ${c.before.attendedSeconds}s->${c.after.attendedSeconds}s: ${c.reason}`).join(' | '),
    ]);
  }
}
