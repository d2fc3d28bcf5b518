import { createServer, type IncomingHttpHeaders } from 'node:http';
import { EventEmitter } from 'node:events';
import type { Teardown } from './db.ts';

export interface ReceivedHook {
  headers: IncomingHttpHeaders;
  body: string;
  json: { id: string; event: string; occurredAt: string; data: Record<string, unknown> };
  /** HTTP status the receiver answered. */
  answered: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedHook[];
  /** Decides the status of each request (default 200). */
  respond: (hook: Omit<ReceivedHook, 'answered'>, index: number) => number;
  /** Resolves when `predicate(received)` holds, checked after each request; rejects after timeoutMs. */
  until(predicate: (received: ReceivedHook[]) => boolean, timeoutMs?: number): Promise<ReceivedHook[]>;
}

/** A real HTTP server standing for the school's other systems, closed at teardown. */
export async function startWebhookReceiver(t: Teardown): Promise<WebhookReceiver> {
  const emitter = new EventEmitter();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    respond: () => 200,
    until(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        if (predicate(receiver.received)) return resolve(receiver.received);
        const timer = setTimeout(() => {
          emitter.off('hook', check);
          reject(new Error(`webhook receiver: condition not met after ${receiver.received.length} request(s): ${receiver.received.map((r) => `${r.json.event}:${r.answered}`).join(', ')}`));
        }, timeoutMs);
        const check = () => {
          if (!predicate(receiver.received)) return;
          clearTimeout(timer);
          emitter.off('hook', check);
          resolve(receiver.received);
        };
        emitter.on('hook', check);
      });
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const hook = { headers: req.headers, body, json: JSON.parse(body) as ReceivedHook['json'] };
      const status = receiver.respond(hook, receiver.received.length);
      receiver.received.push({ ...hook, answered: status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      emitter.emit('hook');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  receiver.url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hooks`;
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return receiver;
}
