import t from 'tap';
import { formatOffset, reviewToMarkdown } from '../src/codereview/markdown.ts';
import { splitLines } from '../src/codereview/service.ts';
import type { Review } from '../src/codereview/service.ts';

const doc = {
  id: 'd1',
  sessionId: 's1',
  authorId: 'u1',
  authorName: 'Camille',
  kind: 'file' as const,
  name: 'a.md',
  language: 'markdown',
  content: 'Some ```code``` inside\nsecond line\n',
  lineCount: 2,
  createdAt: '2026-11-29T08:00:00.000Z',
};
const comment = (over: Partial<Review['comments'][number]>): Review['comments'][number] => ({
  id: 'c1',
  sessionId: 's1',
  documentId: 'd1',
  parentId: null,
  authorId: 'u2',
  authorName: 'Julien',
  line: 2,
  body: 'Why?',
  recordingOffsetMs: null,
  resolvedAt: null,
  resolvedBy: null,
  createdAt: '2026-11-29T08:05:00.000Z',
  ...over,
});

t.test('splitLines', async (t) => {
  t.same(splitLines('a\r\nb\n'), ['a', 'b']);
  t.same(splitLines(''), ['']);
  t.same(splitLines('a\n\n'), ['a', '']);
});

t.test('formatOffset', async (t) => {
  t.equal(formatOffset(0), '0:00:00');
  t.equal(formatOffset(3_723_999), '1:02:03');
});

t.test('markdown: fences survive backticks, threads and offsets are shown', async (t) => {
  const md = reviewToMarkdown(
    {
      documents: [doc],
      comments: [
        comment({ recordingOffsetMs: 754_000, body: 'Why?\nExplain.' }),
        comment({ id: 'c2', parentId: 'c1', authorId: 'u1', authorName: 'Camille', body: 'Because.' }),
      ],
    },
    { sessionId: 's1', kind: 'mentoring', startsAt: new Date('2026-11-29T08:00:00Z'), participants: [{ name: 'Camille', role: 'student' }] },
  );
  t.match(md, /````markdown\nSome ```code``` inside\nsecond line\n````/, 'a longer fence than the content uses');
  t.match(md, /- \*\*Line 2\*\* — open\n {2}`second line`\n {2}- \*\*Julien\*\* · 2026-11-29 08:05 UTC · recording 0:12:34\n {4}Why\?\n {4}Explain\./);
  t.match(md, / {2}- \*\*Camille\*\* · 2026-11-29 08:05 UTC\n {4}Because\./);
  t.notMatch(md, /recording.*\n {4}Because/, 'no offset shown when there was none');
});

t.test('markdown: an empty review says so', async (t) => {
  const md = reviewToMarkdown({ documents: [], comments: [] }, { sessionId: 's1', kind: 'defence', startsAt: new Date(), participants: [] });
  t.match(md, /No document was reviewed/);
});
