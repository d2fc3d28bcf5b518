export { schedulingPlugin } from './plugin.ts';
