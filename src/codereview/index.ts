/**
 * Code review during a live session. Public face: the plugin (the `/review`
 * namespace and the read/export routes), and reads for other capabilities
 * (e.g. an evaluation showing the session's review).
 */
export { codereviewPlugin, reviewRoom } from './plugin.ts';
export { reviewOf, type Review, type ReviewComment, type ReviewDocument, type DocumentKind } from './service.ts';
export { reviewToMarkdown, formatOffset } from './markdown.ts';
