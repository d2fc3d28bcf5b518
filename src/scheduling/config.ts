import { Type } from 'typebox';
import { ConfigError, readEnv, type Env } from '../shared/env.ts';

/** Scheduling's variables (part of the configuration schema, src/server/config.ts). */
export const schedulingEnv = Type.Object({
  REMINDER_OFFSETS_MINUTES: Type.Array(Type.Integer({ minimum: 1 }), { default: [1440, 15], description: 'Minutes before a session at which reminders fire' }),
  LATE_CANCEL_NOTICE_HOURS: Type.Integer({ default: 24, minimum: 0, description: 'Less notice than this = late cancellation' }),
  BOOKING_HORIZON_DAYS: Type.Integer({ default: 60, minimum: 1, maximum: 366, description: 'How far ahead bookings reach unless a host sets their own (feeds list every booked session)' }),
  MINIMUM_NOTICE_MINUTES: Type.Integer({ default: 120, minimum: 0, description: 'Notice a booking needs' }),
  MENTORING_MINUTES: Type.Integer({ default: 45, minimum: 5, maximum: 480, description: 'Length of a mentoring session' }),
  DEFENCE_MIN_MINUTES: Type.Integer({ default: 60, minimum: 15, maximum: 480, description: 'Shortest jury defence' }),
  DEFENCE_MAX_MINUTES: Type.Integer({ default: 90, minimum: 15, maximum: 480, description: 'Longest jury defence (≥ DEFENCE_MIN_MINUTES)' }),
  DEFENCE_DEFAULT_MINUTES: Type.Integer({ default: 60, minimum: 15, maximum: 480, description: 'Default defence length (between the two above)' }),
  SLOT_STEP_MINUTES: Type.Integer({ default: 15, minimum: 5, maximum: 240, description: 'Slots start every N minutes from an availability window’s start' }),
  DEFAULT_BUFFER_MINUTES: Type.Integer({ default: 15, minimum: 0, maximum: 240, description: 'Buffer between a host’s sessions unless the host sets their own' }),
  SLOT_SEARCH_MAX_DAYS: Type.Integer({ default: 31, minimum: 7, maximum: 62, description: 'Longest [from, to) of one slot search (longer: 400 range_too_long)' }),
  SLOT_SEARCH_MAX_SLOTS: Type.Integer({ default: 1000, minimum: 50, maximum: 5000, description: 'Most slots in one slot-search answer; the rest via `next` (pass it back as `after`)' }),
});

export interface SchedulingConfig {
  /** Minutes before a session's start at which reminders fire. */
  reminderOffsetsMinutes: number[];
  /** A cancellation with less notice than this is recorded as late. */
  lateCancelNoticeHours: number;
  /** How far ahead a student may book, unless the host sets their own horizon (calendar feeds have no end). */
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
  /** Longest range of one slot search, and most slots in one answer (bounded work per request). */
  slotSearchMaxDays: number;
  slotSearchMaxSlots: number;
}

export function readSchedulingConfig(env: Env): SchedulingConfig {
  const v = readEnv(schedulingEnv, env);
  if (v.DEFENCE_MAX_MINUTES < v.DEFENCE_MIN_MINUTES) {
    throw new ConfigError('DEFENCE_MAX_MINUTES', `must be >= DEFENCE_MIN_MINUTES (${v.DEFENCE_MIN_MINUTES}), got ${v.DEFENCE_MAX_MINUTES}`);
  }
  if (v.DEFENCE_DEFAULT_MINUTES < v.DEFENCE_MIN_MINUTES || v.DEFENCE_DEFAULT_MINUTES > v.DEFENCE_MAX_MINUTES) {
    throw new ConfigError('DEFENCE_DEFAULT_MINUTES', `must be between DEFENCE_MIN_MINUTES (${v.DEFENCE_MIN_MINUTES}) and DEFENCE_MAX_MINUTES (${v.DEFENCE_MAX_MINUTES}), got ${v.DEFENCE_DEFAULT_MINUTES}`);
  }
  return {
    reminderOffsetsMinutes: v.REMINDER_OFFSETS_MINUTES,
    lateCancelNoticeHours: v.LATE_CANCEL_NOTICE_HOURS,
    bookingHorizonDays: v.BOOKING_HORIZON_DAYS,
    minimumNoticeMinutes: v.MINIMUM_NOTICE_MINUTES,
    mentoringMinutes: v.MENTORING_MINUTES,
    defenceMinMinutes: v.DEFENCE_MIN_MINUTES,
    defenceMaxMinutes: v.DEFENCE_MAX_MINUTES,
    defenceDefaultMinutes: v.DEFENCE_DEFAULT_MINUTES,
    slotStepMinutes: v.SLOT_STEP_MINUTES,
    defaultBufferMinutes: v.DEFAULT_BUFFER_MINUTES,
    slotSearchMaxDays: v.SLOT_SEARCH_MAX_DAYS,
    slotSearchMaxSlots: v.SLOT_SEARCH_MAX_SLOTS,
  };
}
