export { webPlugin, webDistDir } from './plugin.ts';
