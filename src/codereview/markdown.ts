import type { Review, ReviewComment, ReviewDocument } from './service.ts';
import { splitLines } from './service.ts';

/** Pure rendering of a session's code review as Markdown (no I/O). */
export interface MarkdownContext {
  sessionId: string;
  kind: string;
  startsAt: Date;
  participants: Array<{ name: string; role: string }>;
}

/** h:mm:ss of a recording offset. */
export function formatOffset(ms: number): string {
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
}

const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

/** A code fence longer than any run of backticks in the content. */
function fenceFor(content: string): string {
  let longest = 0;
  for (const m of content.matchAll(/`+/g)) longest = Math.max(longest, m[0].length);
  return '`'.repeat(Math.max(3, longest + 1));
}

/** Markdown-escapes a single-line value (names, file names). */
const inline = (s: string) => s.replace(/([\\`*_[\]<>#|])/g, '\\$1');

const indent = (text: string, prefix: string) =>
  text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => prefix + l)
    .join('\n');

function meta(c: ReviewComment): string {
  const parts = [`**${inline(c.authorName)}**`, utc(c.createdAt)];
  if (c.recordingOffsetMs !== null) parts.push(`recording ${formatOffset(c.recordingOffsetMs)}`);
  return parts.join(' · ');
}

function renderDocument(doc: ReviewDocument, comments: ReviewComment[], names: Map<string, string>): string {
  const out: string[] = [];
  const lines = splitLines(doc.content);
  const lang = doc.kind === 'diff' ? 'diff' : (doc.language ?? '');
  const fence = fenceFor(doc.content);
  out.push(`## ${inline(doc.name)}`, '', `${doc.kind === 'diff' ? 'Diff' : 'File'} shared by ${inline(doc.authorName)} at ${utc(doc.createdAt)}.`, '');
  out.push(`${fence}${lang}`, ...lines, fence, '');
  const roots = comments.filter((c) => c.parentId === null).sort((a, b) => a.line - b.line || a.createdAt.localeCompare(b.createdAt));
  if (roots.length === 0) {
    out.push('_No comments._', '');
    return out.join('\n');
  }
  out.push('### Comments', '');
  for (const root of roots) {
    const status = root.resolvedAt ? ` — resolved${root.resolvedBy && names.has(root.resolvedBy) ? ` by ${inline(names.get(root.resolvedBy)!)}` : ''}` : ' — open';
    out.push(`- **Line ${root.line}**${status}`);
    const code = lines[root.line - 1];
    if (code !== undefined && code.trim() !== '') out.push(`  \`${code.trim().replace(/`/g, "'")}\``);
    out.push(`  - ${meta(root)}`, indent(root.body, '    '));
    for (const reply of comments.filter((c) => c.parentId === root.id)) {
      out.push(`  - ${meta(reply)}`, indent(reply.body, '    '));
    }
    out.push('');
  }
  return out.join('\n');
}

export function reviewToMarkdown(review: Review, ctx: MarkdownContext): string {
  const names = new Map<string, string>();
  for (const d of review.documents) names.set(d.authorId, d.authorName);
  for (const c of review.comments) names.set(c.authorId, c.authorName);
  const out: string[] = [
    `# Code review — ${ctx.kind} session of ${utc(ctx.startsAt.toISOString())}`,
    '',
    `Session \`${ctx.sessionId}\`. Participants: ${ctx.participants.map((p) => `${inline(p.name)} (${p.role})`).join(', ') || '—'}.`,
    '',
  ];
  if (review.documents.length === 0) out.push('_No document was reviewed in this session._', '');
  for (const doc of review.documents) {
    out.push(renderDocument(doc, review.comments.filter((c) => c.documentId === doc.id), names));
  }
  return out.join('\n');
}
