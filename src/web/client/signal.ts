import { io, type Socket } from 'socket.io-client';
import { accessToken, socketAuth } from './api.ts';

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
 * Retries while the network is out fail at once (the browser knows its link is down), so the
 * backoff climbs during an outage; its ceiling is how long a user waits after the link returns.
 * 2 s (Socket.IO's default is 5 s) with Socket.IO's ±50 % jitter still spreads the reconnections
 * of a whole node's clients over seconds.
 */
const RECONNECTION = { reconnectionDelay: 500, reconnectionDelayMax: 2_000 } as const;

/**
 * A Socket.IO namespace of this server. All namespaces share one connection
 * (Socket.IO multiplexes them over the same Manager); each handshake carries
 * a fresh access token.
 */
export function connect(namespace: string, baseUrl?: string): Socket {
  // Another node of the deployment (a room's owner, named in a join answer) gets its own connection.
  const socket = baseUrl
    ? io(`${baseUrl}${namespace}`, { auth: socketAuth, transports: ['websocket'], ...RECONNECTION, forceNew: true })
    : io(namespace, { auth: socketAuth, transports: ['websocket'], ...RECONNECTION });
  // A socket's authority ends with its access token: hand the server each new token on the same
  // socket (auth:refresh); if it still ended the socket for its token, connect again with a fresh one.
  let sent: string | undefined;
  const keep = setInterval(() => {
    if (!socket.connected) return;
    void accessToken().then(
      (token) => {
        if (token !== sent) socket.emit('auth:refresh', { token }, () => undefined);
        sent = token;
      },
      () => undefined,
    );
  }, 20_000);
  socket.on('connect', () => (sent = undefined));
  socket.on('auth:ended', (e: { code?: string }) => {
    if (e.code === 'token_expired') setTimeout(() => socket.connect(), 100);
    else clearInterval(keep);
  });
  return socket;
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
