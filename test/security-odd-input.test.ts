import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { createHmac } from 'node:crypto';
import { api, nextEvent, request, startTestApp } from './helpers/app.ts';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const nowS = () => Math.floor(Date.now() / 1000);

/** Sends raw bytes and resolves with the raw answer (for what fetch refuses to send). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1', () => sock.write(text));
    let got = '';
    sock.on('data', (d) => (got += d.toString()));
    sock.on('end', () => resolve(got));
    sock.on('close', () => resolve(got));
    sock.on('error', reject);
  });
}

t.test('odd input is a 4xx problem+json (or an error ack), never a 500', async (t) => {
  const { app, url, demo, login, socket } = await startTestApp(t);
  const port = Number(new URL(url).port);
  const [mentor, coordinator] = await Promise.all([login(demo.mentor), login(demo.coordinator)]);
  const isProblem = (t: Test, res: { status: number; headers: Headers; body: { code?: string } }, status: number, code: string, what: string) => {
    t.equal(res.status, status, `${what}: ${status}`);
    t.match(res.headers.get('content-type'), /^application\/problem\+json/, `${what}: problem+json`);
    t.equal(res.body?.code, code, `${what}: ${code}`);
  };

  t.test('tokens with foreign algorithms, or alg none with a signature, are 401 token_invalid on HTTP and sockets', async (t) => {
    const claims = b64({ sub: demo.student.id, role: 'coordinator', iat: nowS(), exp: nowS() + 600 });
    const forged = [
      ...['RS256', 'ES256', 'PS256', 'EdDSA'].map((alg) => `${b64({ alg, typ: 'JWT' })}.${claims}.${Buffer.alloc(64, 7).toString('base64url')}`),
      (() => {
        const unsigned = `${b64({ alg: 'HS512', typ: 'JWT' })}.${claims}`;
        return `${unsigned}.${createHmac('sha512', 'test-secret-that-is-long-enough-for-hs256-0123456789').update(unsigned).digest('base64url')}`;
      })(),
      `${b64({ alg: 'none', typ: 'JWT' })}.${claims}.c2lnbmF0dXJl`,
      `${b64({ alg: 'none' })}.${claims}.`,
      `${b64({ typ: 'JWT' })}.${claims}.x`,
      'a.b.c',
      `${b64({ alg: 'HS256' })}.${b64({ sub: 1, exp: 'soon' })}.x`,
    ];
    for (const token of forged) {
      const res = await api(url, 'GET', '/me', token);
      isProblem(t, res, 401, 'token_invalid', `token ${token.slice(0, 30)}…`);
      const s = socket(token, '/defence');
      const err = await new Promise<{ code?: string }>((resolve) => s.once('connect_error', (e) => resolve((e as Error & { data?: { code?: string } }).data ?? {})));
      t.equal(err.code, 'token_invalid', 'refused at the socket handshake too');
    }
  });

  t.test('NUL characters in text are refused before the store, on HTTP and sockets', async (t) => {
    isProblem(t, await api(url, 'PATCH', '/me', mentor, { name: 'Bob\u0000' }), 400, 'nul_character', 'PATCH /me');
    const timeOff = await api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: '2031-01-01T09:00:00Z', endsAt: '2031-01-01T10:00:00Z', reason: 'a\u0000b' });
    isProblem(t, timeOff, 400, 'nul_character', 'time off reason');
    isProblem(t, await api(url, 'GET', `/sessions?timeZone=Europe%2FParis%00`, mentor), 400, 'nul_character', 'query string');
    const s = socket(mentor, '/defence');
    await nextEvent(s, 'connect');
    t.equal((await request(s, 'join', { sessionId: '00000000-0000-4000-8000-000000000000\u0000' })).error?.code, 'invalid_payload');
  });

  t.test('absurd dates are refused before PostgreSQL', async (t) => {
    for (const d of ['-271821-04-20T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', '0000-01-01T00:00:00Z', '99999-01-01T00:00:00Z']) {
      const timeOff = await api(url, 'POST', `/hosts/${demo.mentor.id}/time-off`, mentor, { startsAt: d, endsAt: '2031-01-01T10:00:00Z' });
      t.ok(timeOff.status >= 400 && timeOff.status < 500, `time off from ${d}: ${timeOff.status} ${timeOff.body?.code}`);
      const slots = await api(url, 'GET', `/hosts/${demo.mentor.id}/slots?from=${encodeURIComponent(d)}&to=2031-01-01T00:00:00Z`, mentor);
      t.ok(slots.status >= 400 && slots.status < 500, `slots from ${d}: ${slots.status} ${slots.body?.code}`);
      const csv = await api(url, 'GET', `/attendance/export.csv?pathId=${demo.pathId}&from=${encodeURIComponent(d)}&to=2031-01-01T00:00:00Z`, coordinator);
      t.ok(csv.status >= 400 && csv.status < 500, `export from ${d}: ${csv.status} ${csv.body?.code}`);
    }
  });

  t.test('numbers that are not finite are refused in query strings and bodies (400 validation_failed)', async (t) => {
    for (const v of ['Infinity', '-Infinity', '1e400', '-1e400']) {
      isProblem(t, await api(url, 'GET', `/notifications?limit=${encodeURIComponent(v)}`, mentor), 400, 'validation_failed', `?limit=${v}`);
      const preview = await api(url, 'POST', `/hosts/${demo.mentor.id}/availability/preview?days=${encodeURIComponent(v)}`, mentor, { timeZone: 'Europe/Paris', weekly: [] });
      isProblem(t, preview, 400, 'validation_failed', `?days=${v}`);
      // An integer without bounds: Ajv alone takes Infinity for an integer.
      const slots = await api(url, 'GET', `/defences/slots?studentId=${demo.student.id}&juryIds=${demo.jury[0].id}&juryIds=${demo.jury[1].id}&from=2031-01-01T00:00:00Z&to=2031-01-08T00:00:00Z&durationMinutes=${encodeURIComponent(v)}`, coordinator);
      isProblem(t, slots, 400, 'validation_failed', `?durationMinutes=${v}`);
    }
    // JSON.parse reads 1e400 as Infinity.
    const res = await fetch(`${url}/defences`, {
      method: 'POST',
      headers: { authorization: `Bearer ${coordinator}`, 'content-type': 'application/json' },
      body: `{"studentId":"${demo.student.id}","juryIds":["${demo.jury[0].id}","${demo.jury[1].id}"],"startsAt":"2031-01-01T09:00:00Z","durationMinutes":1e400}`,
    });
    t.equal(res.status, 400, 'a body with 1e400: 400');
    t.equal(((await res.json()) as { code: string }).code, 'validation_failed');
  });

  t.test('binary socket payloads are refused before any handler (invalid_payload)', async (t) => {
    for (const ns of ['/defence', '/review', '/rooms']) {
      const s = socket(mentor, ns);
      await nextEvent(s, 'connect');
      for (const payload of [Buffer.from('binary'), new Uint8Array([1, 2, 3]).buffer, { sessionId: Buffer.from('00000000-0000-4000-8000-000000000000') }, [Buffer.alloc(4)]]) {
        t.equal((await request(s, ns === '/review' ? 'open' : 'join', payload)).error?.code, 'invalid_payload', `${ns}: ${Object.prototype.toString.call(payload)}`);
      }
      const extra = await s.timeout(10_000).emitWithAck(ns === '/review' ? 'open' : 'join', { sessionId: '00000000-0000-4000-8000-000000000000' }, Buffer.from('extra'));
      t.equal((extra as { error?: { code: string } }).error?.code, 'invalid_payload', `${ns}: a binary second argument`);
      t.equal((await request(s, 'no-such-event', {})).error?.code, 'unknown_socket_event', `${ns}: an event nobody listens to is acked, not left to time out`);
      s.disconnect();
    }
  });

  t.test("Fastify's own errors are problem+json: bad URL, too-long parameter, headers too large", async (t) => {
    isProblem(t, await api(url, 'GET', '/sessions/%E0%A4%A', mentor), 400, 'bad_url', 'undecodable URL');
    const long = await api(url, 'GET', `/sessions/${'a'.repeat(500)}`, mentor);
    t.ok(long.status >= 400 && long.status < 500, `a 500-character parameter: ${long.status}`);
    t.match(long.headers.get('content-type'), /^application\/problem\+json/);
    const answer = await raw(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`);
    t.match(answer, /^HTTP\/1\.1 431 /, 'headers too large: 431');
    t.match(answer, /content-type: application\/problem\+json/i);
    t.match(answer, /"code":"headers_too_large"/);
    const garbage = await raw(port, 'NOT HTTP AT ALL\r\n\r\n');
    t.match(garbage, /^HTTP\/1\.1 400 [\s\S]*"code":"malformed_request"/, 'a request line that does not parse: 400 problem+json');
  });

  t.test('the server is alive and well after all of it', async (t) => {
    t.equal((await api(url, 'GET', '/health')).status, 200);
    t.ok(app.server.listening);
  });
});
