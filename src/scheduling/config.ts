import { int, intList, type Env } from '../shared/env.ts';

export interface SchedulingConfig {
  /** Minutes before a session's start at which reminders fire. */
  reminderOffsetsMinutes: number[];
  /** A cancellation with less notice than this is recorded as late. */
  lateCancelNoticeHours: number;
  /** How far ahead a student may book, and the calendar feed reaches. */
  bookingHorizonDays: number;
  /** How much notice a booking needs. */
  minimumNoticeMinutes: number;
}

export function readSchedulingConfig(env: Env): SchedulingConfig {
  return {
    reminderOffsetsMinutes: intList(env, 'REMINDER_OFFSETS_MINUTES', [1440, 15]),
    lateCancelNoticeHours: int(env, 'LATE_CANCEL_NOTICE_HOURS', 24, { min: 0 }),
    bookingHorizonDays: int(env, 'BOOKING_HORIZON_DAYS', 60, { min: 1, max: 366 }),
    minimumNoticeMinutes: int(env, 'MINIMUM_NOTICE_MINUTES', 120, { min: 0 }),
  };
}
