import t from 'tap';
import { dictionaries } from '../src/web/client/i18n.ts';
import { highlightLines, languageOf, splitHighlighted } from '../src/web/client/highlight.ts';
import { isRecording } from '../src/web/client/room-client.ts';

t.test('every language has every message, with the same placeholders', async (t) => {
  const en = dictionaries.en as Record<string, string>;
  const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const locale of ['fr', 'es'] as const) {
    const other = dictionaries[locale] as Record<string, string>;
    t.same(Object.keys(other).sort(), Object.keys(en).sort(), `${locale} has the same keys as en`);
    const empty = Object.keys(en).filter((key) => !other[key]?.trim());
    const wrong = Object.entries(en).filter(([key, text]) => placeholders(other[key] ?? '').join() !== placeholders(text).join()).map(([key]) => key);
    t.same(empty, [], `${locale}: no empty message`);
    t.same(wrong, [], `${locale}: placeholders kept`);
  }
});

t.test('highlighted HTML splits into lines with balanced spans', async (t) => {
  t.same(splitHighlighted('<span class="a">x\ny</span>\nz'), ['<span class="a">x</span>', '<span class="a">y</span>', 'z']);
  t.same(splitHighlighted('<span class="a"><span class="b">1\n2</span>3</span>'), [
    '<span class="a"><span class="b">1</span></span>',
    '<span class="a"><span class="b">2</span>3</span>',
  ]);
  const lines = highlightLines('/* a\n b */\nconst x = "<b>";\n', 'javascript');
  t.equal(lines.length, 3, 'a trailing newline adds no line (as on the server)');
  t.match(lines[0], /^<span class="hljs-comment">\/\* a<\/span>$/);
  t.match(lines[1], /^<span class="hljs-comment"> b \*\/<\/span>$/);
  t.match(lines[2], /&lt;b&gt;/, 'code is escaped');
  t.notMatch(lines.join(''), /<b>/);
  t.equal(highlightLines('x', 'no-such-language').length, 1, 'unknown languages fall back to auto-detection');
});

t.test('language from the file name', async (t) => {
  t.equal(languageOf('src/App.TSX'), 'typescript');
  t.equal(languageOf('fix.patch'), 'diff');
  t.equal(languageOf('index.html'), 'xml');
  t.equal(languageOf('README'), undefined);
});

t.test('recordingState payloads', async (t) => {
  t.equal(isRecording({ recording: true }), true);
  t.equal(isRecording({ active: false }), false);
  t.equal(isRecording({ state: 'recording' }), true);
  t.equal(isRecording({ state: 'stopped' }), false);
  t.equal(isRecording(null), false);
});
