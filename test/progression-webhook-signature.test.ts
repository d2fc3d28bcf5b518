import t from 'tap';
import { execFileSync } from 'node:child_process';
import { signPayload, verifySignature } from '../src/progression/webhooks.ts';

// The webhook signature against an independent implementation: OpenSSL's HMAC
// (`openssl dgst -sha256 -hmac <secret>`) over the documented signed string
// `${timestamp}.${body}`, on a fixed body and timestamp. A receiver written
// from the documentation alone computes the same. No app is booted.

const secret = 'whsec_5e3b1f0a9c7d4e2b8a6f';
const timestamp = 1767225600; // 2026-01-01T00:00:00Z
// Non-ASCII, escaped quotes and an escaped newline: the bytes signed are the UTF-8 of the body as sent.
const body = String.raw`{"id":"7a1c2d3e-0000-4000-8000-000000000001","event":"diploma.issued","occurredAt":"2026-01-01T00:00:00.000Z","data":{"studentName":"Zoë Ångström 🎓","note":"a \"quoted\" line\nand another"}}`;
/** `printf '%s' "1767225600.$BODY" | openssl dgst -sha256 -hmac whsec_5e3b1f0a9c7d4e2b8a6f`, run once and kept. */
const pinned = 'cb2281c18102e5e1516843e804fb3c29526f58f5d402cf91181b1db0cb2493f2';

function opensslHmac(key: string, message: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key], { input: Buffer.from(message, 'utf8') }).toString('utf8');
  const hex = /([0-9a-f]{64})\s*$/.exec(out)?.[1];
  if (!hex) throw new Error(`unexpected openssl output: ${out}`);
  return hex;
}

t.test('the signature is the HMAC-SHA256 OpenSSL computes over "timestamp.body"', async (t) => {
  const expected = opensslHmac(secret, `${timestamp}.${body}`);
  t.equal(expected, pinned, 'OpenSSL gives the kept vector');
  t.equal(signPayload(secret, timestamp, body), `v1=${expected}`);
  t.ok(verifySignature(secret, String(timestamp), body, `v1=${expected}`, timestamp * 1000), 'the receiver side accepts the independent signature');
});

t.test('other vectors: empty body, ASCII-only, a long secret', async (t) => {
  const cases: Array<[string, number, string]> = [
    ['s', 0, ''],
    ['whsec_test', 1700000000, '{"event":"defence.completed"}'],
    ['k'.repeat(100), 2000000000, 'x'.repeat(5000)],
  ];
  for (const [key, ts, payload] of cases) t.equal(signPayload(key, ts, payload), `v1=${opensslHmac(key, `${ts}.${payload}`)}`, `secret of ${key.length}, body of ${payload.length}`);
});

t.test('a different byte anywhere gives a different signature', async (t) => {
  const good = `v1=${opensslHmac(secret, `${timestamp}.${body}`)}`;
  t.not(signPayload(secret, timestamp + 1, body), good, 'timestamp');
  t.not(signPayload(secret, timestamp, body.replace('Zoë', 'Zoe')), good, 'body');
  t.not(signPayload(`${secret}x`, timestamp, body), good, 'secret');
  t.notOk(verifySignature(secret, String(timestamp), `${body} `, good, timestamp * 1000), 'the receiver refuses a changed body');
});
