/**
 * The school. Public face: the plugin ('school'), and reads for other
 * capabilities (paths, enrollments, access to a student, preferences) that take
 * the store or the caller's transaction; it holds no live state, so no decorator.
 */
export type { Tier, ProgressState, Path, Project, Enrollment, ProjectProgress, Viewer, StudentSummary } from './service.ts';
export {
  listPaths,
  getPath,
  findEnrollment,
  enrollmentsOfStudent,
  currentEnrollment,
  progressOf,
  projectStateOf,
  assertPremiumPlus,
  assertCanViewStudent,
  studentsOfMentor,
} from './service.ts';
export { isIanaZone, canonicalZone } from './timezones.ts';
export { schoolRoutes } from './routes.ts';
export { schoolPlugin } from './plugin.ts';
export { seedDemoSchool, demoLogins, type DemoSchool } from './seed.ts';
export { preferencesOf, unsubscribeToken, type NotificationPreferences } from './preferences.ts';
