export type { Tier, ProgressState, Path, Project, Enrollment, ProjectProgress, Viewer, StudentSummary } from './service.ts';
export {
  listPaths,
  getPath,
  findEnrollment,
  enrollmentsOfStudent,
  currentEnrollment,
  progressOf,
  assertPremiumPlus,
  assertCanViewStudent,
  studentsOfMentor,
} from './service.ts';
export { isIanaZone } from './timezones.ts';
export { schoolRoutes } from './routes.ts';
export { seedDemoSchool, type DemoSchool } from './seed.ts';
