import { finalizedAttendance } from '../attendance/index.ts';
import type { Queryable } from '../db/index.ts';
import type { Session } from '../sessions/index.ts';

/**
 * How a session went for the student: from the attendance record once it is
 * finalized (present, late, left_early, no_show); before that, from the
 * clock (cancelled, upcoming, in_progress, took_place).
 */
export type AttendanceStatus = 'cancelled' | 'upcoming' | 'in_progress' | 'took_place' | 'present' | 'late' | 'left_early' | 'no_show';

export async function attendanceStatus(db: Queryable, session: Session, studentId: string, now: Date): Promise<AttendanceStatus> {
  if (session.status === 'cancelled') return 'cancelled';
  if (now.getTime() < session.startsAt.getTime()) return 'upcoming';
  const record = (await finalizedAttendance(db, session.id))?.find((r) => r.userId === studentId);
  if (record) return record.status;
  if (session.status !== 'completed' && now.getTime() < session.endsAt.getTime()) return 'in_progress';
  return 'took_place';
}

/** Did the session take place with the student there? A finalized no-show says no; so do cancelled and future sessions. */
export function countsAsAttended(status: AttendanceStatus): boolean {
  return status !== 'cancelled' && status !== 'upcoming' && status !== 'no_show';
}
