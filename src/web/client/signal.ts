import { io, type Socket } from 'socket.io-client';
import { socketAuth } from './api.ts';

/** An acknowledged request failed: `code` is the server's stable error code. */
export class RequestError extends Error {
  readonly code: string;
  readonly details: Record<string, unknown>;
  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }
}

type Ack<T> = { data: T } | { error: { code: string; message: string; details?: Record<string, unknown> } };

/**
 * A Socket.IO namespace of this server. All namespaces share one connection
 * (Socket.IO multiplexes them over the same Manager); each handshake carries
 * a fresh access token.
 */
export function connect(namespace: string): Socket {
  return io(namespace, { auth: socketAuth, transports: ['websocket'], reconnectionDelayMax: 5_000 });
}

/** Emits a request and resolves with its `data`, or throws RequestError. */
export async function request<T>(socket: Socket, event: string, payload: unknown = {}, timeoutMs = 15_000): Promise<T> {
  let ack: Ack<T>;
  try {
    ack = (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as Ack<T>;
  } catch {
    throw new RequestError('timeout', `No answer to ${event}`);
  }
  if ('error' in ack) throw new RequestError(ack.error.code, ack.error.message, ack.error.details ?? {});
  return ack.data;
}
