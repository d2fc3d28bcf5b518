import { int, type Env } from '../shared/env.ts';

export interface AttendanceConfig {
  /** A reconnect within this many seconds is a network gap, not a departure. */
  reconnectGraceSeconds: number;
  /** A participant not joined this many minutes after the start is a no-show. */
  noShowAfterMinutes: number;
}

export function readAttendanceConfig(env: Env): AttendanceConfig {
  return {
    reconnectGraceSeconds: int(env, 'ATTENDANCE_RECONNECT_GRACE_SECONDS', 60, { min: 0 }),
    noShowAfterMinutes: int(env, 'NO_SHOW_AFTER_MINUTES', 10, { min: 0 }),
  };
}
