/**
 * Bounded fuzz test (issue 13): malformed values to every HTTP route of the
 * OpenAPI document (path parameters, query, body, a few headers) and to every
 * socket event the server listens to, from a fixed seed (the same cases on
 * every run; FUZZ_SEED=n explores others, FUZZ_HTTP_CASES / FUZZ_SOCKET_CASES change the
 * counts, FUZZ_DEBUG=1 prints slow cases). Whatever comes in: no 5xx, every
 * error is problem+json with a `code` (or an ack `{ error: { code, message } }`
 * that is not internal_error), the server stays up and its heap steady.
 */
import t from 'tap';
import fc from 'fast-check';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { nextEvent, request, startTestApp } from './helpers/app.ts';
import { buildWorld, type World } from './helpers/authz-world.ts';
import { fetchRoutes, sampleOf, type RouteSpec } from './helpers/openapi.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';

const SEED = Number(process.env.FUZZ_SEED ?? 20260113);
const HTTP_CASES = Number(process.env.FUZZ_HTTP_CASES ?? 2000);
const SOCKET_CASES = Number(process.env.FUZZ_SOCKET_CASES ?? 1000);
const CONCURRENCY = 4;

// A collection between measurements: the heap is compared after GC, not with whatever garbage is pending.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const WEIRD = [
  'Infinity', '-Infinity', 'NaN', '1e400', '-1e400', '1e-400', '-0', '0x1F', '1_000', '9007199254740993', '', ' ', '\u0000', 'a\u0000b',
  'null', 'undefined', 'true', '[]', '{}', '__proto__', 'constructor', 'toString',
  '-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z', '99999-01-01T00:00:00Z', '2024-02-30T10:00:00Z',
  '2024-13-01T00:00:00Z', '2024-03-31T02:30:00', '2024-06-01T24:00:00Z', '1899-12-31T23:59:59Z', '3000-01-01T00:00:00Z', '2027-01-04T09:00:00+14:00',
  '2027-01-04', '12:00', '25:61', '24:00', 'P1D',
  '00000000-0000-0000-0000-000000000000', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'not-a-uuid', '../../../etc/passwd', '%00', '%E0%A4%A', '\uD800', '\uFFFF',
  '😀'.repeat(40), "' OR 1=1 --", '<script>alert(1)</script>', 'Mars/Olympus', 'Etc/GMT+14', 'x'.repeat(300), 'x'.repeat(20_000),
];
/** Large, but under the 1 MB a JSON body or a socket message may carry (over it, the transport refuses, not the server). */
const HUGE = 'y'.repeat(300_000);
const WEIRD_NUMBERS = [-1, 0, 0.5, 1e308, -1e308, 2 ** 31, 2 ** 53 + 2, Number.MIN_VALUE, -0];

const scalar = fc.oneof(
  fc.constantFrom(...WEIRD),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(...WEIRD_NUMBERS),
  fc.boolean(),
  fc.constant(null),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
);
const value: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), scalar, { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constant(HUGE) },
);
/** A value as query-string text: what a URL can carry. */
const text = fc.oneof(fc.constantFrom(...WEIRD), fc.string({ maxLength: 24 }), fc.string({ unit: 'binary', maxLength: 24 }), scalar.map((v) => String(v)));

/** encodeURIComponent, or raw invalid UTF-8 for what it cannot encode (a lone surrogate): a bad URL is a case too. */
const enc = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
};

type Caller = 'anonymous' | 'student' | 'mentor' | 'jury' | 'coordinator';
const caller = fc.constantFrom<Caller>('anonymous', 'student', 'mentor', 'jury', 'coordinator', 'coordinator', 'coordinator');

interface HttpCase {
  route: RouteSpec;
  caller: Caller;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function httpCases(routes: RouteSpec[], w: World): HttpCase[] {
  const ids = [w.mentoringSessionId, w.defenceSessionId, w.student, w.mentor, w.candidate, ...w.jury, w.recordingId, w.segmentId, w.verdictId, w.timeOffId, w.subscriptionId, w.deliveryId, w.pathId, w.projectIds[0]!];
  const param = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ids) }, { weight: 1, arbitrary: fc.uuid() }, { weight: 2, arbitrary: text });
  const rawBodies = ['{"x":1e400}', 'not json', '{', '[]', '"text"', '1e400', 'null', '{"__proto__":{"role":"coordinator"}}', '{"constructor":{"prototype":{"polluted":1}}}', '\u0000', '[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]'];
  const arb = fc
    .record({
      route: fc.constantFrom(...routes),
      caller,
      params: fc.array(param, { minLength: 6, maxLength: 6 }),
      query: fc.array(fc.oneof(fc.constant<undefined>(undefined), fc.constant('valid'), text, fc.array(text, { minLength: 2, maxLength: 3 })), { minLength: 8, maxLength: 8 }),
      extraQuery: fc.option(fc.tuple(fc.string({ maxLength: 8 }), text)),
      bodyKind: fc.constantFrom('field', 'field', 'fields', 'whole', 'raw', 'number', 'content-type', 'none'),
      field: fc.nat(),
      fieldValue: value,
      fieldValues: fc.array(fc.option(value), { minLength: 6, maxLength: 6 }),
      raw: fc.constantFrom(...rawBodies),
      contentType: fc.constantFrom('text/plain', 'application/octet-stream', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml'),
      bytes: fc.uint8Array({ maxLength: 64 }),
      header: fc.option(fc.tuple(fc.constantFrom('range', 'if-none-match', 'accept', 'x-forwarded-for'), fc.constantFrom('bytes=0-', 'bytes=-1', 'bytes=5-1', 'bytes=1e400-', 'bytes=0-0,1-1,2-2', 'bytes=99999999999999999999-', 'items=0-1', '*', '"x"', 'W/"\u00e9"', '999.1.1.1', ''))),
    })
    .map(({ route, caller, params, query, extraQuery, bodyKind, field, fieldValue, fieldValues, raw, contentType, bytes, header }): HttpCase => {
      const path = route.path.replace(/\{([^}]+)\}/g, (_m, name: string) => enc(params[route.params.findIndex((p) => p.name === name) % 6]!));
      const q: string[] = [];
      route.query.forEach((p, i) => {
        const v = query[i % 8];
        if (v === undefined) return;
        const one = v === 'valid' ? [String(sampleOf(p.schema, w.student))] : Array.isArray(v) ? v : [v];
        for (const s of one) q.push(`${enc(p.name)}=${enc(s)}`);
      });
      if (extraQuery) q.push(`${enc(extraQuery[0])}=${enc(extraQuery[1])}`);
      const url = `${path}${q.length ? `?${q.join('&')}` : ''}`;
      const headers: Record<string, string> = {};
      if (header) headers[header[0]] = header[1];
      let body: string | undefined;
      if (route.body || bodyKind === 'content-type' || bodyKind === 'raw') {
        const base = (route.body ? sampleOf(route.body, w.student) : {}) as Record<string, unknown>;
        const names = [...new Set([...Object.keys(route.body?.properties ?? {}), ...Object.keys(base ?? {}), 'unexpected'])];
        headers['content-type'] = 'application/json';
        switch (bodyKind) {
          case 'field':
            body = JSON.stringify({ ...base, [names[field % names.length]!]: fieldValue });
            break;
          case 'fields':
            body = JSON.stringify(Object.fromEntries(names.map((n, i) => [n, fieldValues[i % 6] ?? base?.[n]])));
            break;
          case 'whole':
            body = JSON.stringify(fieldValue) ?? 'null';
            break;
          case 'raw':
            body = raw;
            break;
          case 'number': {
            // A literal JSON.stringify cannot write: a number JSON.parse reads as Infinity.
            const n = names[field % names.length]!;
            body = JSON.stringify({ ...base, [n]: 0 }).replace(`"${n}":0`, `"${n}":1e400`);
            break;
          }
          case 'content-type':
            headers['content-type'] = contentType;
            body = Buffer.from(bytes).toString("latin1");
            break;
          case 'none':
            delete headers['content-type'];
        }
      }
      return { route, caller, url, headers, ...(body !== undefined ? { body } : {}) };
    });
  return fc.sample(arb, { seed: SEED, numRuns: HTTP_CASES });
}

/** Runs `jobs` `width` at a time. */
async function pool<T>(items: T[], width: number, job: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) {
      const i = next++;
      await job(items[i]!, i);
    }
  }));
}

t.test('fuzz: malformed values to every route and socket event', async (t) => {
  const ctx = await startTestApp(t, {
    env: {
      LOGIN_RATE_LIMIT_PER_MINUTE: '100000',
      LOGIN_ACCOUNT_FAILURE_LIMIT: '100000',
      EXPENSIVE_RATE_LIMIT_PER_MINUTE: '100000',
      SOCKET_EVENTS_PER_SECOND: '100000',
      SOCKET_EVENT_BURST: '100000',
      RECORD_DEFENCES_AUTOMATICALLY: 'false',
    },
  });
  const w = await buildWorld(ctx);
  // The callers' own live session: the fuzz reaches the room's handlers (transports, producers) too.
  const ownSessionId = await insertLiveMentoring(ctx.db, ctx.demo);
  const routes = await fetchRoutes(ctx.url);

  // Tokens may end during the run (a fuzzed PATCH /users may change a role): log in again when one does.
  const logins = { student: ctx.demo.student, mentor: ctx.demo.mentor, jury: ctx.demo.jury[0], coordinator: ctx.demo.coordinator };
  const tokens = { ...w.tokens };
  const relogin = async (who: keyof typeof tokens) => {
    await ctx.db.execute('UPDATE users SET role = $2, disabled_at = NULL WHERE id = $1', [w.callers[who], who]);
    await ctx.app.userStates.forget(w.callers[who]);
    tokens[who] = await ctx.login(logins[who]);
  };

  const failures = new Map<string, string>();
  const fail = (kind: string, detail: string) => {
    if (!failures.has(kind)) failures.set(kind, detail);
  };

  // Every case is made before the first measurement: the heap compared is the server's, not the inputs'.
  const cases = httpCases(routes, w);
  const namespaces = ['/', '/rooms', '/review', '/defence'];
  const binary = fc.oneof(
    fc.uint8Array({ maxLength: 32 }).map((b) => Buffer.from(b)),
    fc.uint8Array({ maxLength: 32 }).map((b) => b.buffer),
    fc.uint8Array({ maxLength: 32 }).map((b) => ({ sessionId: Buffer.from(b), data: b })),
    fc.uint8Array({ maxLength: 32 }).map((b) => [Buffer.from(b)]),
  );
  const sessionIds = [ownSessionId, w.mentoringSessionId, w.defenceSessionId];
  const payload = fc.oneof(
    { weight: 3, arbitrary: value },
    { weight: 2, arbitrary: binary },
    { weight: 3, arbitrary: fc.record({ sessionId: fc.constantFrom(...sessionIds), key: fc.constantFrom('sessionId', 'transportId', 'producerId', 'consumerId', 'kind', 'rtpParameters', 'rtpCapabilities', 'dtlsParameters', 'direction', 'appData', 'spatialLayer', 'to', 'verdict', 'verdictId', 'documentId', 'content', 'line', 'body', 'token', 'x'), v: fc.oneof(value, binary) }).map(({ sessionId, key, v }) => ({ sessionId, [key]: v })) },
    { weight: 1, arbitrary: fc.nat({ max: 300 }).map((depth) => { let v: unknown = 'deep'; for (let i = 0; i < depth; i++) v = [v]; return v; }) },
  );
  const socketArb = fc.record({
    who: fc.constantFrom<keyof typeof tokens>('student', 'mentor', 'jury', 'coordinator'),
    ns: fc.constantFrom(...namespaces),
    event: fc.nat(),
    payload,
    ack: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  });
  const socketCases = fc.sample(socketArb, { seed: SEED + 1, numRuns: SOCKET_CASES });
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const started = Date.now();

  const perRoute = new Map<string, number>();
  await pool(cases, CONCURRENCY, async (c) => {
    perRoute.set(c.route.key, (perRoute.get(c.route.key) ?? 0) + 1);
    const token = c.caller === 'anonymous' ? undefined : tokens[c.caller];
    let res: Response;
    const t0 = Date.now();
    try {
      res = await fetch(`${ctx.url}${c.url}`, {
        method: c.route.method,
        headers: { ...c.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(c.body !== undefined && c.route.method !== 'GET' ? { body: c.body } : {}),
        redirect: 'manual',
      });
    } catch (err) {
      fail(`${c.route.key}: no answer`, `${c.route.method} ${c.url.slice(0, 300)}: ${(err as Error).message}`);
      return;
    }
    const body = await res.text();
    if (process.env.FUZZ_DEBUG && Date.now() - t0 > 300) console.error(`slow ${Date.now() - t0} ms: ${c.route.key} ${res.status}`);
    const type = res.headers.get('content-type') ?? '';
    const what = `${c.route.method} ${c.url.slice(0, 300)} as ${c.caller} ${typeof c.body === 'string' ? c.body.slice(0, 300) : ''}`;
    if (res.status >= 500) fail(`${c.route.key}: ${res.status}`, `${what} → ${res.status} ${body.slice(0, 300)}`);
    if (res.status >= 400) {
      let code: unknown;
      try {
        code = (JSON.parse(body) as { code?: unknown }).code;
      } catch {
        /* not JSON */
      }
      if (!type.startsWith('application/problem+json') || typeof code !== 'string') fail(`${c.route.key}: ${res.status} not problem+json`, `${what} → ${res.status} ${type} ${body.slice(0, 200)}`);
      if (res.status === 401 && code === 'token_revoked' && c.caller !== 'anonymous') await relogin(c.caller);
    }
  });
  t.equal(perRoute.size, routes.length, `every route of the document got cases (${HTTP_CASES} over ${routes.length} routes)`);
  const httpSeconds = (Date.now() - started) / 1000;

  // ------------------------------------------------------------ sockets
  type Client = ReturnType<typeof ctx.socket>;
  const open = async (who: keyof typeof tokens, ns: string): Promise<Client> => {
    const s = ctx.socket(tokens[who], ns);
    await nextEvent(s, 'connect');
    if (ns === '/rooms' && (who === 'student' || who === 'mentor')) await request(s, 'join', { sessionId: ownSessionId });
    if (ns === '/review' && (who === 'student' || who === 'mentor')) await request(s, 'open', { sessionId: ownSessionId });
    return s;
  };
  const sockets = new Map<string, Client>();
  const socketOf = async (who: keyof typeof tokens, ns: string) => {
    const key = `${who} ${ns}`;
    let s = sockets.get(key);
    if (!s || !s.connected) {
      s?.disconnect();
      s = await open(who, ns);
      sockets.set(key, s);
    }
    return s;
  };
  // The events each namespace listens to, read from the server's own sockets: a new event is fuzzed too.
  const events = new Map<string, string[]>();
  for (const ns of namespaces) {
    const s = await socketOf('mentor', ns);
    const server = ctx.app.io.of(ns).sockets.get(s.id!);
    const names = (server?.eventNames() ?? []).filter((e): e is string => typeof e === 'string' && e !== 'disconnect' && e !== 'disconnecting' && e !== 'error');
    events.set(ns, [...names, 'auth:refresh', 'no-such-event']);
  }
  t.ok((events.get('/rooms')?.length ?? 0) > 10 && (events.get('/defence')?.length ?? 0) > 5 && (events.get('/review')?.length ?? 0) > 4, `events found: ${[...events].map(([ns, e]) => `${ns}: ${e.join(' ')}`).join('; ')}`);

  const socketStarted = Date.now();
  await pool(socketCases, CONCURRENCY, async (c) => {
    const list = events.get(c.ns)!;
    const event = list[c.event % list.length]!;
    const s = await socketOf(c.who, c.ns);
    const what = `${c.who} ${c.ns} ${event} ${(() => { try { return JSON.stringify(c.payload)?.slice(0, 200); } catch { return String(c.payload); } })()}`;
    if (!c.ack) {
      s.emit(event, c.payload);
      return;
    }
    let ack: unknown;
    const t0 = Date.now();
    try {
      ack = await s.timeout(10_000).emitWithAck(event, c.payload);
      if (process.env.FUZZ_DEBUG && Date.now() - t0 > 500) console.error(`slow ${Date.now() - t0} ms: ${what}`);
    } catch (err) {
      fail(`${c.ns} ${event}: no ack`, `${what}: ${(err as Error).message}`);
      return;
    }
    const a = ack as { data?: unknown; error?: { code?: unknown; message?: unknown } } | undefined;
    const shaped = a && typeof a === 'object' && ('data' in a || (a.error && typeof a.error.code === 'string' && typeof a.error.message === 'string'));
    if (!shaped) fail(`${c.ns} ${event}: ack not { data } or { error: { code, message } }`, `${what} → ${JSON.stringify(ack)?.slice(0, 200)}`);
    else if (a.error?.code === 'internal_error') fail(`${c.ns} ${event}: internal_error`, `${what}`);
    if (!s.connected) fail(`${c.ns} ${event}: socket dropped`, what);
  });
  const socketSeconds = (Date.now() - socketStarted) / 1000;
  for (const s of sockets.values()) s.disconnect();

  t.same([...failures].map(([kind, example]) => `${kind} — e.g. ${example}`), [], 'no 5xx, no error outside problem+json, every socket request acked with data or a coded error');

  const health = await fetch(`${ctx.url}/health`);
  t.equal(health.status, 200, 'the server is up and its dependencies answer');
  t.ok(ctx.app.server.listening, 'still listening');
  gc();
  const grownMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  t.ok(grownMb < 100, `heap after GC grew ${grownMb.toFixed(1)} MB over ${HTTP_CASES} HTTP and ${SOCKET_CASES} socket cases (bound: 100 MB)`);
  t.comment(`seed ${SEED}: ${HTTP_CASES} HTTP cases in ${httpSeconds.toFixed(1)} s, ${SOCKET_CASES} socket cases in ${socketSeconds.toFixed(1)} s, heap +${grownMb.toFixed(1)} MB`);
});
