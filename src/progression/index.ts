export { progressionPlugin } from './plugin.ts';
