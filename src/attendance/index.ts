export { attendancePlugin } from './plugin.ts';
export { AttendanceService, finalizedAttendance, attendanceRecordOf } from './service.ts';
export type { SessionAttendance, ParticipantAttendance, AttendanceRecordOfUser, Correction, PresenceInput, PresentPerson } from './service.ts';
export { deriveParticipant, deriveQuality, assess, sortEvents } from './derive.ts';
export type { PresenceEvent, PresenceInterval, ParticipantPresence, AttendanceStatus, MediaSource, Assessment, QualityLevel, QualitySummary } from './derive.ts';
export { CSV_COLUMNS, csvField, exportAttendanceCsv } from './csv.ts';
