export { roomsPlugin } from './plugin.ts';
