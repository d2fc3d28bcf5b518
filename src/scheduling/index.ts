export { schedulingPlugin, REMINDER_QUEUE } from './plugin.ts';
export type { SchedulingConfig } from './config.ts';
export {
  availabilityWindows,
  computeSlots,
  intersectAll,
  isSlotOffered,
  mergeIntervals,
  subtractIntervals,
  resolveWallTime,
  validateAvailability,
  renderInterval,
  type Availability,
  type Interval,
  type WeeklyRule,
  type DateOverride,
} from './availability.ts';
export { reminderJobId, type ReminderJob } from './notifications.ts';
export { eventUid } from './calendar.ts';
export { seedSchedulingDemo } from './demo.ts';
