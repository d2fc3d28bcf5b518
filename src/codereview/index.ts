export { codereviewPlugin } from './plugin.ts';
