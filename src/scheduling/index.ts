/**
 * Scheduling. Public face: the plugin ('scheduling', decorates `app.scheduling`:
 * the SchedulingService), the pure availability computation, and reads of a
 * session's detail for other capabilities (mail).
 */
export { schedulingPlugin, REMINDER_QUEUE } from './plugin.ts';
export type { SchedulingConfig } from './config.ts';
export { SchedulingService } from './service.ts';
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
export { eventIdentity, eventUid, icsText, summaryOf, PRODUCT_ID } from './calendar.ts';
export { sessionDetail, participantsOf, type SessionDetail, type ParticipantDetail } from './sessions.ts';
export { seedSchedulingDemo } from './demo.ts';
