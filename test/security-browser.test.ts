import t from 'tap';
import { io as connectSocket } from 'socket.io-client';
import { startTestApp } from './helpers/app.ts';

t.test('Socket.IO accepts browsers from the configured origins (and its own) only; no source maps outside development', async (t) => {
  const { url, demo, login } = await startTestApp(t, { env: { ALLOWED_ORIGINS: 'https://school.example' } });
  const token = await login(demo.student);
  const attempt = (origin: string | undefined) =>
    new Promise<string>((resolve) => {
      const s = connectSocket(url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, ...(origin ? { extraHeaders: { origin } } : {}) });
      s.once('connect', () => {
        s.disconnect();
        resolve('connected');
      });
      s.once('connect_error', () => {
        s.disconnect();
        resolve('refused');
      });
    });
  t.equal(await attempt('https://evil.example'), 'refused', 'a foreign origin is refused');
  t.equal(await attempt('https://school.example'), 'connected', 'the configured origin connects');
  t.equal(await attempt(url), 'connected', 'the server\'s own origin connects');
  t.equal(await attempt(undefined), 'connected', 'a client that is no browser (no Origin) is judged by its token');

  const polling = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } });
  t.not(polling.headers.get('access-control-allow-origin'), 'https://evil.example', 'no CORS grant to a foreign origin');

  const page = await fetch(`${url}/`);
  const csp = page.headers.get('content-security-policy') ?? '';
  t.match(csp, /script-src 'self'(;|$)/, 'scripts from the server only, none inline');
  t.match(csp, /frame-ancestors 'none'/);
  t.equal(page.headers.get('x-content-type-options'), 'nosniff');
  t.ok(page.headers.get('x-frame-options'), 'frame protection');
  t.equal(page.headers.get('referrer-policy'), 'strict-origin-when-cross-origin');
  const html = await page.text();
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'the page has no inline script');
  t.match((await fetch(`${url}/health`)).headers.get('x-content-type-options') ?? '', /nosniff/, 'API answers too');

  const map = await fetch(`${url}/app.js.map`);
  t.equal(map.status, 404, 'the client source map is not served (NODE_ENV=test)');
  t.equal((await fetch(`${url}/app.js`)).status, 200, 'the bundle is');
});
