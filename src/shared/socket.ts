import type { Static, TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Socket } from 'socket.io';
import { DomainError, type ErrorCode } from './errors.ts';
import { hasBinary, hasNul } from './text.ts';

/** What every acknowledged socket request gets back. */
export type Ack<T> = { data: T } | { error: { code: ErrorCode; message: string; details?: Record<string, unknown> } };

/** Identity attached to a socket by the handshake middleware. */
export interface SocketIdentity {
  userId: string;
  role: 'student' | 'mentor' | 'jury' | 'coordinator';
}

export const identityOf = (socket: Socket): SocketIdentity => socket.data.identity as SocketIdentity;

export interface SocketLogger {
  error(obj: object, msg: string): void;
}

/**
 * The one way a socket event is handled: validate the payload at run time
 * (TypeBox, like the routes), call the handler, and ack `{ data }` or
 * `{ error: { code, message } }`. A missing ack callback or an unexpected
 * exception never crashes the server.
 */
export function onRequest<S extends TSchema, R>(
  socket: Socket,
  event: string,
  schema: S,
  handler: (payload: Static<S>) => Promise<R> | R,
  logger?: SocketLogger,
): void {
  const validator = Compile(schema);
  socket.on(event, async (...args: unknown[]) => {
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (last as (reply: Ack<R>) => void) : undefined;
    const payload = ack ? (args.length > 1 ? args[0] : undefined) : args[0];
    const reply = (r: Ack<R>) => ack?.(r);
    // Every event's payload is plain JSON: no binary attachment (Buffer, ArrayBuffer) reaches a handler,
    // and no argument beyond the payload (Socket.IO would pass extra ones along).
    if (args.length > (ack ? 2 : 1) || hasBinary(args)) return reply({ error: { code: 'invalid_payload', message: `Invalid ${event} payload: plain JSON only (no binary data, one argument)` } });
    // No NUL in any text (PostgreSQL refuses it), checked for every event as for every HTTP route.
    if (hasNul(payload)) return reply({ error: { code: 'invalid_payload', message: `Invalid ${event} payload: text must not contain NUL characters` } });
    if (!validator.Check(payload ?? {})) {
      const first = [...validator.Errors(payload ?? {})][0];
      return reply({
        error: { code: 'invalid_payload', message: `Invalid ${event} payload${first ? `: ${first.instancePath || '/'} ${first.message}` : ''}` },
      });
    }
    try {
      reply({ data: await handler((payload ?? {}) as Static<S>) });
    } catch (err) {
      if (err instanceof DomainError) {
        reply({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
      } else {
        logger?.error({ err, event }, 'socket request failed');
        reply({ error: { code: 'internal_error', message: 'The server could not complete the request' } });
      }
    }
  });
}

/** Socket.IO room of a session's participants in the `/rooms` namespace: the one spelling of it. */
export const sessionChannel = (sessionId: string) => `session:${sessionId}`;
