import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Teardown } from './db.ts';
import { freeUdpAndTcpPort } from './ports.ts';

/**
 * A private coturn (Debian's `coturn` package) for one test file, and a
 * minimal TURN client (RFC 5766 Allocate over UDP with long-term credentials)
 * to ask it directly whether it accepts a credential.
 */
export const turnserverPath = process.env.TURNSERVER_PATH ?? '/usr/bin/turnserver';

export interface Coturn {
  /** UDP and TCP listening port on 127.0.0.1. */
  port: number;
  realm: string;
  secret: string;
  /** turn: URLs of this server, UDP and TCP. */
  urls: string[];
  /** coturn's log so far (for failure messages). */
  log(): string;
}

/**
 * Starts coturn with the TURN REST API secret on free ports, relaying on
 * 127.0.0.1. coturn refuses loopback peers by default (a relay must not reach
 * the TURN host's own services); `--allow-loopback-peers` lets it reach the
 * mediasoup worker that listens on 127.0.0.1 in the tests. Stopped at teardown.
 */
export async function startCoturn(t: Teardown): Promise<Coturn> {
  const dir = mkdtempSync(join(tmpdir(), 'ml-coturn-'));
  const port = await freeUdpAndTcpPort();
  // Relay ports: a random window below the kernel's ephemeral range (32768+) and the recorders' (61000+).
  const minPort = 20_000 + Math.floor(Math.random() * 100) * 100;
  const secret = randomBytes(24).toString('hex');
  const realm = 'mentor-live.test';
  const logFile = join(dir, 'turn.log');
  const child = spawn(
    turnserverPath,
    [
      '-n', // no configuration file: every option is here
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--relay-ip=127.0.0.1',
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      '--use-auth-secret',
      `--static-auth-secret=${secret}`,
      `--realm=${realm}`,
      '--allow-loopback-peers',
      '--no-multicast-peers',
      '--fingerprint',
      '--no-tls',
      '--no-dtls',
      '--no-cli',
      `--userdb=${join(dir, 'turndb')}`,
      `--pidfile=${join(dir, 'turn.pid')}`,
      `--log-file=${logFile}`,
      '--simple-log',
      '--no-stdout-log',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });
  // Ready once it answers a STUN binding request.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`coturn exited with ${child.exitCode}: ${log()}`);
    if (await stunBinding(port).catch(() => false)) break;
    if (Date.now() > deadline) throw new Error(`coturn did not answer on ${port}: ${log()}`);
  }
  return { port, realm, secret, urls: [`turn:127.0.0.1:${port}?transport=udp`, `turn:127.0.0.1:${port}?transport=tcp`], log };
}

// ---------------------------------------------------------------- STUN/TURN

const MAGIC = 0x2112a442;
const ATTR = { USERNAME: 0x0006, MESSAGE_INTEGRITY: 0x0008, ERROR_CODE: 0x0009, REALM: 0x0014, NONCE: 0x0015, REQUESTED_TRANSPORT: 0x0019, XOR_RELAYED_ADDRESS: 0x0016 };

function attribute(type: number, value: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(value.length, 2);
  const pad = Buffer.alloc((4 - (value.length % 4)) % 4);
  return Buffer.concat([header, value, pad]);
}

/** A STUN message; with `key`, a MESSAGE-INTEGRITY (HMAC-SHA1 over the message, length counting it) is appended. */
function message(type: number, attributes: Buffer[], key?: Buffer): Buffer {
  const body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(type, 0);
  header.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  header.writeUInt32BE(MAGIC, 4);
  randomBytes(12).copy(header, 8);
  const unsigned = Buffer.concat([header, body]);
  if (!key) return unsigned;
  const mac = createHmac('sha1', key).update(unsigned).digest();
  return Buffer.concat([unsigned, attribute(ATTR.MESSAGE_INTEGRITY, mac)]);
}

interface StunResponse {
  type: number;
  attributes: Map<number, Buffer>;
}

function parse(buf: Buffer): StunResponse {
  const attributes = new Map<number, Buffer>();
  for (let offset = 20; offset + 4 <= buf.length; ) {
    const type = buf.readUInt16BE(offset);
    const length = buf.readUInt16BE(offset + 2);
    attributes.set(type, buf.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length + ((4 - (length % 4)) % 4);
  }
  return { type: buf.readUInt16BE(0), attributes };
}

/** Sends a request from `socket` and resolves with the first answer (coturn ties a nonce to the client's address and port). */
function exchange(socket: Socket, port: number, request: Buffer, timeoutMs = 1000): Promise<StunResponse> {
  return new Promise((resolve, reject) => {
    const onMessage = (msg: Buffer) => {
      clearTimeout(timer);
      resolve(parse(msg));
    };
    const timer = setTimeout(() => {
      socket.off('message', onMessage);
      reject(new Error('no STUN answer'));
    }, timeoutMs);
    socket.once('message', onMessage);
    socket.send(request, port, '127.0.0.1');
  });
}

async function withSocket<T>(fn: (socket: Socket) => Promise<T>): Promise<T> {
  const socket = createSocket('udp4');
  try {
    return await fn(socket);
  } finally {
    socket.close();
  }
}

async function stunBinding(port: number): Promise<boolean> {
  const response = await withSocket((socket) => exchange(socket, port, message(0x0001, []), 300));
  return response.type === 0x0101;
}

export type AllocateResult = { ok: true; relayedPort: number } | { ok: false; errorCode: number };

/**
 * Asks coturn for a UDP relay allocation with the long-term credential
 * (username, password): first unauthenticated to learn its realm and nonce
 * (401), then signed with MD5(username:realm:password). coturn answers an
 * expired TURN REST username, or a password not made with its secret, with 401.
 */
export async function allocate(port: number, username: string, password: string): Promise<AllocateResult> {
  return withSocket(async (socket) => {
    const transport = attribute(ATTR.REQUESTED_TRANSPORT, Buffer.from([17, 0, 0, 0]));
    const challenge = await exchange(socket, port, message(0x0003, [transport]));
    const realm = challenge.attributes.get(ATTR.REALM);
    const nonce = challenge.attributes.get(ATTR.NONCE);
    if (challenge.type !== 0x0113 || !realm || !nonce) throw new Error(`unexpected answer to an unauthenticated Allocate: 0x${challenge.type.toString(16)}`);
    const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
    const answer = await exchange(
      socket,
      port,
      message(0x0003, [transport, attribute(ATTR.USERNAME, Buffer.from(username)), attribute(ATTR.REALM, realm), attribute(ATTR.NONCE, nonce)], key),
    );
    if (answer.type === 0x0103) {
      const relayed = answer.attributes.get(ATTR.XOR_RELAYED_ADDRESS)!;
      return { ok: true, relayedPort: relayed.readUInt16BE(2) ^ (MAGIC >>> 16) };
    }
    const error = answer.attributes.get(ATTR.ERROR_CODE);
    return { ok: false, errorCode: error ? error[2]! * 100 + error[3]! : 0 };
  });
}
