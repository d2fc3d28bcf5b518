export { recordingPlugin } from './plugin.ts';
