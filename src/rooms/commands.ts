import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { DomainError } from '../shared/errors.ts';
import type { RoomDirectory } from './directory.ts';

/** A command's handler on the node that holds the room. Its result must be JSON. */
export type RoomCommandHandler = (sessionId: string, payload: Record<string, unknown>) => Promise<unknown>;

interface CommandMessage {
  id: string;
  from: string;
  sessionId: string;
  name: string;
  payload: Record<string, unknown>;
}

interface ReplyMessage {
  id: string;
  result?: unknown;
  error?: { kind: string; code: string; message: string; details?: Record<string, unknown> };
  notOwner?: true;
}

class NotOwner extends Error {}
class Timeout extends Error {}

export interface CommandStats {
  sent: number;
  failed: number;
  /** Round-trip milliseconds of answered remote commands (for the histogram in /metrics). */
  observe?: (ms: number, name: string) => void;
}

/**
 * Commands on a live room from any node (recording start/stop, isolation,
 * closing, removing a participant): run here when this node holds the room,
 * else sent to the holder on its own Redis channel
 * (`<prefix>:node:<id>:cmd`), answered on the sender's
 * (`<prefix>:node:<id>:reply`). Not a broadcast: one sick node never stalls
 * a command to another. Each attempt has a timeout; a holder that no longer
 * holds the room answers `notOwner`, and the command is tried again on
 * whoever holds it now (looked up afresh), up to three times.
 */
export class RoomCommands {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #prefix: string;
  readonly #nodeId: string;
  readonly #directory: RoomDirectory;
  readonly #holds: (sessionId: string) => boolean;
  readonly #handlers = new Map<string, RoomCommandHandler>();
  readonly #waiting = new Map<string, { resolve: (r: ReplyMessage) => void }>();
  readonly #timeoutMs: number;
  readonly #onError: (err: unknown) => void;
  readonly stats: CommandStats = { sent: 0, failed: 0 };

  constructor(options: {
    pub: Redis;
    sub: Redis;
    prefix: string;
    nodeId: string;
    directory: RoomDirectory;
    /** Whether this node holds the session's room (its lease, or the room open here). */
    holds: (sessionId: string) => boolean;
    onError: (err: unknown) => void;
    timeoutMs?: number;
  }) {
    this.#pub = options.pub;
    this.#sub = options.sub;
    this.#prefix = options.prefix;
    this.#nodeId = options.nodeId;
    this.#directory = options.directory;
    this.#holds = options.holds;
    this.#onError = options.onError;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  #cmdChannel(nodeId: string): string {
    return `${this.#prefix}:node:${nodeId}:cmd`;
  }

  #replyChannel(nodeId: string): string {
    return `${this.#prefix}:node:${nodeId}:reply`;
  }

  async start(): Promise<void> {
    this.#sub.on('message', (channel: string, raw: string) => {
      if (channel === this.#cmdChannel(this.#nodeId)) void this.#serve(JSON.parse(raw) as CommandMessage);
      else if (channel === this.#replyChannel(this.#nodeId)) {
        const reply = JSON.parse(raw) as ReplyMessage;
        this.#waiting.get(reply.id)?.resolve(reply);
      }
    });
    await this.#sub.subscribe(this.#cmdChannel(this.#nodeId), this.#replyChannel(this.#nodeId));
  }

  async stop(): Promise<void> {
    await this.#sub.quit().catch(() => this.#sub.disconnect());
  }

  /** Registers what a command does on the room's node. */
  handle(name: string, handler: RoomCommandHandler): void {
    this.#handlers.set(name, handler);
  }

  /**
   * Runs a command on the node holding the session's room. `{ ran: false }`
   * when no node holds it (the caller decides: usually `room_not_open`).
   */
  async run(sessionId: string, name: string, payload: Record<string, unknown> = {}): Promise<{ ran: true; result: unknown } | { ran: false }> {
    const handler = this.#handlers.get(name);
    if (!handler) throw new Error(`no room command ${name}`);
    for (let attempt = 0; attempt < 3; attempt++) {
      if (this.#holds(sessionId)) return { ran: true, result: await handler(sessionId, payload) };
      const lease = await this.#directory.lookup(sessionId);
      if (!lease) return { ran: false };
      if (lease.nodeId === this.#nodeId) {
        // Our lease while the room is still being made here, or being closed: a moment and again.
        await new Promise((r) => setTimeout(r, 200));
        continue;
      }
      try {
        return { ran: true, result: await this.#send(lease.nodeId, { id: randomUUID(), from: this.#nodeId, sessionId, name, payload }) };
      } catch (err) {
        if (err instanceof NotOwner || err instanceof Timeout) continue; // the owner changed or is gone: look again
        throw err;
      }
    }
    this.stats.failed++;
    throw new DomainError('unavailable', 'room_unreachable', "The server holding this session's room did not answer; try again");
  }

  async #send(nodeId: string, message: CommandMessage): Promise<unknown> {
    const started = performance.now();
    this.stats.sent++;
    let timer: NodeJS.Timeout | undefined;
    const reply = await new Promise<ReplyMessage | undefined>((resolve, reject) => {
      this.#waiting.set(message.id, { resolve });
      timer = setTimeout(() => resolve(undefined), this.#timeoutMs);
      this.#pub.publish(this.#cmdChannel(nodeId), JSON.stringify(message)).then((receivers) => {
        // Nobody subscribed: that node is gone (its lease has not lapsed yet).
        if (receivers === 0) resolve(undefined);
      }, reject);
    }).finally(() => {
      clearTimeout(timer);
      this.#waiting.delete(message.id);
    });
    if (!reply) {
      this.stats.failed++;
      throw new Timeout();
    }
    this.stats.observe?.(performance.now() - started, message.name);
    if (reply.notOwner) throw new NotOwner();
    if (reply.error) {
      const { kind, code, message: text, details } = reply.error;
      throw new DomainError(kind as never, code as never, text, details);
    }
    return reply.result;
  }

  async #serve(message: CommandMessage): Promise<void> {
    let reply: ReplyMessage;
    const handler = this.#handlers.get(message.name);
    if (!handler || !this.#holds(message.sessionId)) reply = { id: message.id, notOwner: true };
    else {
      try {
        reply = { id: message.id, result: (await handler(message.sessionId, message.payload)) ?? null };
      } catch (err) {
        if (err instanceof DomainError) reply = { id: message.id, error: { kind: err.kind, code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } };
        else {
          this.#onError(err);
          reply = { id: message.id, error: { kind: 'unavailable', code: 'room_unreachable', message: 'The command failed on the room’s server' } };
        }
      }
    }
    await this.#pub.publish(this.#replyChannel(message.from), JSON.stringify(reply)).catch(this.#onError);
  }
}
