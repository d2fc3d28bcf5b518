import t from 'tap';
import { dictionaries } from '../src/web/client/i18n.ts';
import { highlightLines, languageOf, splitHighlighted } from '../src/web/client/highlight.ts';
import { isRecording } from '../src/web/client/room-client.ts';
import { clockChange } from '../src/web/client/availability.ts';
import { DateTime } from 'luxon';

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

// The availability preview warns when a clock change falls in its two weeks (issue 21).
t.test('the clock change inside a preview window, in the host\'s zone', async (t) => {
  t.equal(clockChange('Europe/Paris', DateTime.fromISO('2027-03-20T10:00:00Z'), 14)?.toISODate(), '2027-03-28', 'Paris springs forward on the last Sunday of March');
  t.equal(clockChange('America/Montreal', DateTime.fromISO('2027-03-01T10:00:00Z'), 14)?.toISODate(), '2027-03-14', 'Montreal two weeks earlier');
  t.equal(clockChange('Asia/Kolkata', DateTime.fromISO('2027-03-20T10:00:00Z'), 14), undefined, 'no clock change in Kolkata');
  t.equal(clockChange('Europe/Paris', DateTime.fromISO('2027-04-01T10:00:00Z'), 14), undefined);
});

// Errors in the person's language, keyed by the stable code; never the server's English (issue 21).
t.test("every error code of the catalogue reads in French and Spanish without the server's English", async (t) => {
  const { ERROR_CATALOGUE } = await import('../src/shared/error-catalogue.ts');
  const { ApiError } = await import('../src/web/client/api.ts');
  const { RequestError } = await import('../src/web/client/signal.ts');
  const { errorText, mediaErrorText } = await import('../src/web/client/ui.ts');
  const { setLocale } = await import('../src/web/client/i18n.ts');
  const saved = (globalThis as { document?: unknown }).document;
  (globalThis as { document?: unknown }).document = { documentElement: {} };
  t.teardown(() => {
    (globalThis as { document?: unknown }).document = saved;
  });
  const status: Record<string, number> = { invalid: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, rate_limited: 429, unavailable: 503, internal: 500 };
  const leaks: string[] = [];
  const generic: string[] = [];
  for (const lang of ['fr', 'es'] as const) {
    setLocale(lang);
    for (const [code, { kind, summary }] of Object.entries(ERROR_CATALOGUE)) {
      const message = `${summary} (server detail)`;
      for (const err of [new ApiError(status[kind] ?? 422, code, message), new RequestError(code, message)]) {
        const text = errorText(err);
        if (text.includes(summary) || text.includes('server detail')) leaks.push(`${lang} ${code}: ${text}`);
        if (text.includes(code)) generic.push(`${lang} ${code}`);
      }
    }
    // A code the client does not know yet still gets a sentence of the language, naming the code.
    t.match(errorText(new RequestError('brand_new_code', 'Some English')), lang === 'fr' ? /^Le serveur a refusé/ : /^El servidor ha rechazado/);
    t.notMatch(errorText(new RequestError('brand_new_code', 'Some English')), /Some English/);
    // The browser's own reasons for a camera, by their name, not its English message.
    const denied = new Error('Permission denied by system');
    denied.name = 'NotAllowedError';
    t.notMatch(mediaErrorText(denied), /Permission denied/);
    t.equal(mediaErrorText(denied), lang === 'fr' ? "l'accès n'a pas été autorisé." : 'no se permitió el acceso.');
    t.equal(mediaErrorText(new RequestError('observer_cannot_produce', 'Observers cannot send media')), errorText(new RequestError('observer_cannot_produce', '')));
  }
  setLocale('en');
  t.same(leaks, [], 'no English summary or server detail inside a translated sentence');
  // Codes met in a room, its review, a defence, at the limits: their own sentence, not the fallback naming the code.
  const own = [
    'rate_limited', 'expensive_rate_limited', 'login_rate_limited', 'socket_limit_user', 'socket_limit_address', 'socket_rate_limited',
    'review_bytes_quota', 'review_comment_quota', 'review_document_quota', 'review_closed', 'review_not_open',
    'room_closed', 'room_moving', 'room_unreachable', 'no_node_available', 'server_draining', 'media_unavailable', 'screen_share_busy',
    'consent_required', 'not_allowed_to_record', 'recording_failed', 'not_on_jury', 'candidate_not_admitted', 'verdict_pending', 'token_revoked',
  ];
  t.same(generic.filter((g) => own.includes(g.split(' ')[1]!)), [], 'the room, review, defence and limit codes have their own text');
});
