export { attendancePlugin } from './plugin.ts';
