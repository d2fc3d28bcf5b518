import { Type } from 'typebox';
import { readEnv, type Env } from '../shared/env.ts';

/** Attendance's variables (part of the configuration schema, src/server/config.ts). */
export const attendanceEnv = Type.Object({
  ATTENDANCE_RECONNECT_GRACE_SECONDS: Type.Integer({ default: 60, minimum: 0, description: 'A reconnect within this is a network gap, not a departure' }),
  NO_SHOW_AFTER_MINUTES: Type.Integer({ default: 10, minimum: 0, description: 'Never joined this long after the start = no-show' }),
  ATTENDANCE_LATE_AFTER_SECONDS: Type.Integer({ default: 300, minimum: 0, description: 'A first join this long after the scheduled start is late' }),
  ATTENDANCE_LEFT_EARLY_BEFORE_SECONDS: Type.Integer({ default: 300, minimum: 0, description: 'A last leave this long before the scheduled end is leaving early' }),
  ATTENDANCE_FINALIZE_AFTER_END_MINUTES: Type.Integer({ default: 20, minimum: 0, description: 'The attendance record is frozen this long after the scheduled end' }),
});

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
  const v = readEnv(attendanceEnv, env);
  return {
    reconnectGraceSeconds: v.ATTENDANCE_RECONNECT_GRACE_SECONDS,
    noShowAfterMinutes: v.NO_SHOW_AFTER_MINUTES,
    lateAfterSeconds: v.ATTENDANCE_LATE_AFTER_SECONDS,
    leftEarlyBeforeSeconds: v.ATTENDANCE_LEFT_EARLY_BEFORE_SECONDS,
    finalizeAfterEndMinutes: v.ATTENDANCE_FINALIZE_AFTER_END_MINUTES,
  };
}
