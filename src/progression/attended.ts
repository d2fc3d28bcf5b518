import type { Queryable } from '../db/index.ts';
import type { Session } from '../sessions/index.ts';

export type AttendanceStatus = 'cancelled' | 'upcoming' | 'in_progress' | 'took_place' | 'attended' | 'absent';

/**
 * Did this session take place with the student present? Until the attendance
 * capability publishes its record, a session counts as having taken place once
 * it has started and was not cancelled.
 */
export async function attendanceStatus(_db: Queryable, session: Session, _studentId: string, now: Date): Promise<AttendanceStatus> {
  if (session.status === 'cancelled') return 'cancelled';
  if (now.getTime() < session.startsAt.getTime()) return 'upcoming';
  if (session.status === 'completed') return 'took_place';
  if (now.getTime() < session.endsAt.getTime()) return 'in_progress';
  return 'took_place';
}

export function countsAsAttended(status: AttendanceStatus): boolean {
  return status === 'attended' || status === 'took_place' || status === 'in_progress';
}
