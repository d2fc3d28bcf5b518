import { int, type Env } from '../shared/env.ts';

export interface AttendanceConfig {
  /** A reconnect within this many seconds is a network gap, not a departure. */
  reconnectGraceSeconds: number;
  /** A participant not joined this many minutes after the start is a no-show. */
  noShowAfterMinutes: number;
  /** A first join more than this many seconds after the scheduled start is late. */
  lateAfterSeconds: number;
  /** A last leave more than this many seconds before the scheduled end is leaving early. */
  leftEarlyBeforeSeconds: number;
  /** The attendance record is frozen this many minutes after the scheduled end. */
  finalizeAfterEndMinutes: number;
}

export function readAttendanceConfig(env: Env): AttendanceConfig {
  return {
    reconnectGraceSeconds: int(env, 'ATTENDANCE_RECONNECT_GRACE_SECONDS', 60, { min: 0 }),
    noShowAfterMinutes: int(env, 'NO_SHOW_AFTER_MINUTES', 10, { min: 0 }),
    lateAfterSeconds: int(env, 'ATTENDANCE_LATE_AFTER_SECONDS', 300, { min: 0 }),
    leftEarlyBeforeSeconds: int(env, 'ATTENDANCE_LEFT_EARLY_BEFORE_SECONDS', 300, { min: 0 }),
    finalizeAfterEndMinutes: int(env, 'ATTENDANCE_FINALIZE_AFTER_END_MINUTES', 20, { min: 0 }),
  };
}
