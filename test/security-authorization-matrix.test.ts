import t from 'tap';
import { nextEvent, request, startTestApp } from './helpers/app.ts';
import { buildWorld, CALLERS, type Caller, type World } from './helpers/authz-world.ts';
import { fetchRoutes, fillPath, queryString, sampleOf, type RouteSpec } from './helpers/openapi.ts';
import { AUTHORIZATION_MATRIX, defaultParam, SOCKET_MATRIX, type Expect, type MatrixEntry, type SocketExpect } from './fixtures/authorization-matrix.ts';

// Generous limits: the matrix makes many logins, searches and socket events from one address on purpose.
const ENV = {
  LOGIN_RATE_LIMIT_PER_MINUTE: '10000',
  LOGIN_ACCOUNT_FAILURE_LIMIT: '10000',
  EXPENSIVE_RATE_LIMIT_PER_MINUTE: '10000',
  SOCKET_EVENTS_PER_SECOND: '1000',
  SOCKET_EVENT_BURST: '1000',
  RECORD_DEFENCES_AUTOMATICALLY: 'false',
};

interface Answer {
  status: number;
  contentType: string;
  code: string | undefined;
  /** The body as text, without what the request itself carried (ids in the URL, values of the body). */
  text: string;
}

/** Strings a request carried: an answer may say them back (e.g. the problem's `instance`) without leaking anything. */
function carried(values: unknown[]): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  values.forEach(walk);
  return out.filter((s) => s.length >= 8).sort((a, b) => b.length - a.length);
}

async function call(url: string, route: RouteSpec, entry: MatrixEntry, w: World, caller: Caller): Promise<Answer> {
  const params = Object.fromEntries(route.params.map((p) => [p.name, entry.params?.(w)[p.name] ?? defaultParam(p.name, w)]));
  const query = entry.query?.(w) ?? {};
  const body = entry.body ? entry.body(w) : route.body ? sampleOf(route.body, w.student) : undefined;
  const token = caller === 'anonymous' ? undefined : w.tokens[caller];
  const res = await fetch(`${url}${fillPath(route.path, params)}${queryString(query)}`, {
    method: route.method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    redirect: 'manual',
  });
  let text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  let code: string | undefined;
  if (contentType.startsWith('application/problem+json')) {
    const problem = JSON.parse(text) as { code?: string; instance?: string };
    code = problem.code;
    delete problem.instance;
    text = JSON.stringify(problem);
  }
  for (const s of carried([params, query, body])) text = text.split(s).join('«sent»');
  return { status: res.status, contentType, code, text };
}

/** Whether `answer` is what the matrix says; the reason when not. */
function judge(expect: Expect, a: Answer): string | undefined {
  const got = `${a.status}${a.code ? ` ${a.code}` : ''}`;
  if (a.status >= 400 && !a.contentType.startsWith('application/problem+json')) return `${got}: an error that is not problem+json (${a.contentType})`;
  if (expect === 401) return a.status === 401 && a.code === 'token_missing' ? undefined : `expected 401 token_missing, got ${got}`;
  if (expect === 'role') return a.status === 403 && a.code === 'role_not_allowed' ? undefined : `expected 403 role_not_allowed, got ${got}`;
  if (expect === 'refused') return (a.status === 403 || a.status === 404) && a.code !== 'role_not_allowed' ? undefined : `expected a refusal (403/404 on the resource), got ${got}`;
  if (typeof expect === 'number') return a.status === expect ? undefined : `expected ${expect}, got ${got}`;
  return got === expect ? undefined : `expected ${expect}, got ${got}`;
}

t.test('authorization matrix: every route of the OpenAPI document × every role × another user\'s ids', async (t) => {
  const ctx = await startTestApp(t, { env: ENV });
  const w = await buildWorld(ctx);
  const routes = await fetchRoutes(ctx.url);
  const byKey = new Map(routes.map((r) => [r.key, r]));

  t.test('every route of the document has an entry in the matrix, and every entry a route', async (t) => {
    t.ok(routes.length > 50, `${routes.length} routes in the document`);
    t.same(routes.filter((r) => !(r.key in AUTHORIZATION_MATRIX)).map((r) => r.key), [], 'routes without a matrix entry (add them to test/fixtures/authorization-matrix.ts)');
    t.same(Object.keys(AUTHORIZATION_MATRIX).filter((k) => !byKey.has(k)), [], 'matrix entries of routes that no longer exist');
    for (const r of routes) {
      const entry = AUTHORIZATION_MATRIX[r.key];
      if (entry) t.equal(entry.expect.anonymous === 401, r.secured, `${r.key}: anonymous is refused exactly when the document says the route needs a token`);
    }
  });

  // Sockets first: the last HTTP entries cancel the other users' session.
  t.test('socket events naming another user\'s session are refused with an error ack', async (t) => {
    for (const ns of ['/rooms', '/review', '/defence']) {
      const s = ctx.socket('', ns);
      const err = await new Promise<{ data?: { code?: string } }>((resolve) => s.once('connect_error', (e) => resolve(e as never)));
      t.equal(err.data?.code, 'token_missing', `anonymous socket on ${ns}: refused at connect`);
    }
    let cells = 0;
    for (const caller of ['student', 'mentor', 'jury', 'coordinator'] as const) {
      const byNs = new Map<string, ReturnType<typeof ctx.socket>>();
      for (const [key, entry] of Object.entries(SOCKET_MATRIX)) {
        const [ns, event] = key.split(' ') as [string, string];
        let s = byNs.get(ns);
        if (!s) {
          s = ctx.socket(w.tokens[caller], ns);
          await nextEvent(s, 'connect');
          byNs.set(ns, s);
        }
        const payload = entry.payload(w);
        const ack = await request(s, event, payload);
        cells++;
        const expect: SocketExpect = entry.expect[caller];
        const got = ack.error ? ack.error.code : 'ok';
        if (expect === 'refused') {
          t.ok(ack.error && ack.error.code !== 'invalid_payload' && ack.error.code !== 'internal_error', `${caller} ${key}: refused (got ${got})`);
          let text = JSON.stringify(ack);
          for (const v of carried([payload])) text = text.split(v).join('«sent»');
          t.same(w.secrets.filter((secret) => text.includes(secret)), [], `${caller} ${key}: nothing of the other users in the ack`);
        } else t.equal(got, expect, `${caller} ${key}: ${expect} (got ${got})`);
      }
      for (const s of byNs.values()) s.disconnect();
    }
    t.comment(`${cells} socket cells`);
  });

  t.test('each route answers each caller as the matrix says, and a refusal holds nothing of the other users', async (t) => {
    let cells = 0;
    for (const [key, entry] of Object.entries(AUTHORIZATION_MATRIX)) {
      const route = byKey.get(key);
      if (!route) continue; // reported above
      for (const caller of CALLERS) {
        const answer = await call(ctx.url, route, entry, w, caller);
        cells++;
        const wrong = judge(entry.expect[caller], answer);
        t.notOk(wrong, `${key} as ${caller}: ${wrong ?? 'as expected'}`);
        t.ok(answer.status < 500, `${key} as ${caller}: no 5xx`);
        // The coordinator sees everyone's; anyone else's answer, allowed or refused, holds nothing of the other users.
        if (caller !== 'coordinator') {
          t.same(w.secrets.filter((secret) => answer.text.includes(secret)), [], `${key} as ${caller}: nothing of the other users in the answer`);
        }
      }
    }
    t.comment(`${cells} HTTP cells`);
  });
});
