import { int, intList, type Env } from '../shared/env.ts';
import { ConfigError } from '../shared/env.ts';

export interface SchedulingConfig {
  /** Minutes before a session's start at which reminders fire. */
  reminderOffsetsMinutes: number[];
  /** A cancellation with less notice than this is recorded as late. */
  lateCancelNoticeHours: number;
  /** How far ahead a student may book, and the calendar feed reaches. */
  bookingHorizonDays: number;
  /** How much notice a booking needs. */
  minimumNoticeMinutes: number;
  /** Length of a mentoring session. */
  mentoringMinutes: number;
  /** Allowed length of a jury defence, and the default. */
  defenceMinMinutes: number;
  defenceMaxMinutes: number;
  defenceDefaultMinutes: number;
  /** Slots start every N minutes from the start of an availability window. */
  slotStepMinutes: number;
  /** Buffer kept between a host's sessions unless the host sets their own. */
  defaultBufferMinutes: number;
}

export function readSchedulingConfig(env: Env): SchedulingConfig {
  const defenceMinMinutes = int(env, 'DEFENCE_MIN_MINUTES', 60, { min: 15, max: 480 });
  const defenceMaxMinutes = int(env, 'DEFENCE_MAX_MINUTES', 90, { min: defenceMinMinutes, max: 480 });
  const defenceDefaultMinutes = int(env, 'DEFENCE_DEFAULT_MINUTES', 60, { min: defenceMinMinutes, max: defenceMaxMinutes });
  const reminderOffsetsMinutes = intList(env, 'REMINDER_OFFSETS_MINUTES', [1440, 15]);
  if (reminderOffsetsMinutes.some((m) => m <= 0)) throw new ConfigError('REMINDER_OFFSETS_MINUTES', 'must list positive minutes');
  return {
    reminderOffsetsMinutes,
    lateCancelNoticeHours: int(env, 'LATE_CANCEL_NOTICE_HOURS', 24, { min: 0 }),
    bookingHorizonDays: int(env, 'BOOKING_HORIZON_DAYS', 60, { min: 1, max: 366 }),
    minimumNoticeMinutes: int(env, 'MINIMUM_NOTICE_MINUTES', 120, { min: 0 }),
    mentoringMinutes: int(env, 'MENTORING_MINUTES', 45, { min: 5, max: 480 }),
    defenceMinMinutes,
    defenceMaxMinutes,
    defenceDefaultMinutes,
    slotStepMinutes: int(env, 'SLOT_STEP_MINUTES', 15, { min: 5, max: 240 }),
    defaultBufferMinutes: int(env, 'DEFAULT_BUFFER_MINUTES', 15, { min: 0, max: 240 }),
  };
}
