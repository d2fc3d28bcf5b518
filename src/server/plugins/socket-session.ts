import type { FastifyInstance } from 'fastify';
import type { Socket } from 'socket.io';
import { currentRole, type AccessClaims } from './auth.ts';
import { DomainError } from '../../shared/errors.ts';
import type { SocketIdentity } from '../../shared/socket.ts';

/** The event a client sends on an open socket to carry on with a new access token: `{ token }`, acked `{ data: { expiresAt } }`. */
export const REFRESH_EVENT = 'auth:refresh';
/** Sent to a socket just before the server disconnects it for its token: `{ code, message }`. */
export const ENDED_EVENT = 'auth:ended';

type AckFn = (reply: unknown) => void;

const codeOf = (err: unknown): { code: string; message: string } =>
  err instanceof DomainError ? { code: err.code, message: err.message } : { code: 'token_invalid', message: 'The access token is invalid' };

/**
 * A socket's authority is its token's: every event is checked against the
 * token's expiry and the user's current token version (logout, password or
 * role change, disabling revoke at once), and when the token expires the socket
 * is told why (`auth:ended` with a code) and disconnected, unless the client has
 * sent a fresh token of the same user on this socket (`auth:refresh`).
 */
export function guardSocket(app: FastifyInstance, socket: Socket, initial: AccessClaims & { exp: number }): void {
  let claims = initial;
  let timer: NodeJS.Timeout | undefined;
  let checks: Promise<void> = Promise.resolve();
  const limits = app.config.socketLimits;
  let tokens = limits.burst;
  let refilled = Date.now();
  const end = (code: string, message: string) => {
    clearTimeout(timer);
    if (!socket.connected) return;
    // `local`: written to this connection now; through the adapter (connection-state recovery)
    // it would go by way of Redis and arrive after the disconnect.
    socket.nsp.local.to(socket.id).emit(ENDED_EVENT, { code, message });
    socket.disconnect();
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => end('token_expired', 'The access token has expired'), Math.max(0, claims.exp * 1000 - Date.now()));
  };
  socket.on('disconnect', () => clearTimeout(timer));

  socket.use((packet, next) => {
    const [event, ...args] = packet as [string, ...unknown[]];
    const last = args[args.length - 1];
    const ack = typeof last === 'function' ? (last as AckFn) : undefined;
    // Token bucket: SOCKET_EVENTS_PER_SECOND sustained, SOCKET_EVENT_BURST at once.
    const nowMs = Date.now();
    tokens = Math.min(limits.burst, tokens + ((nowMs - refilled) / 1000) * limits.eventsPerSecond);
    refilled = nowMs;
    if (tokens < 1) {
      ack?.({ error: { code: 'socket_rate_limited', message: 'Too many events on this socket; slow down' } });
      return;
    }
    tokens -= 1;
    if (event === REFRESH_EVENT) {
      void refresh(args[0]).then(
        (fresh) => {
          claims = fresh;
          arm();
          ack?.({ data: { expiresAt: new Date(fresh.exp * 1000).toISOString() } });
        },
        (err: unknown) => ack?.({ error: codeOf(err) }),
      );
      return; // handled here, never passed on
    }
    if (Date.now() >= claims.exp * 1000) {
      ack?.({ error: { code: 'token_expired', message: 'The access token has expired' } });
      return end('token_expired', 'The access token has expired');
    }
    // Checks run one after the other so events reach their handlers in the order they came.
    checks = checks.then(() =>
      currentRole(app.userStates, claims).then(
        () => {
          // An event nobody listens to would leave the client waiting for its ack until it times out.
          if (socket.listeners(event).length === 0) return ack?.({ error: { code: 'unknown_socket_event', message: `No event "${String(event).slice(0, 64)}" in ${socket.nsp.name}` } });
          next();
        },
        (err: unknown) => {
          const { code, message } = codeOf(err);
          ack?.({ error: { code, message } });
          end(code, message);
        },
      ),
    );
  });

  async function refresh(payload: unknown): Promise<AccessClaims & { exp: number }> {
    const token = (payload as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || token === '') throw new DomainError('unauthenticated', 'token_missing', 'An access token is required');
    let fresh: AccessClaims;
    try {
      fresh = app.jwt.verify<AccessClaims>(token);
    } catch (err) {
      if ((err as { code?: string }).code === 'FAST_JWT_EXPIRED') throw new DomainError('unauthenticated', 'token_expired', 'The access token has expired');
      throw new DomainError('unauthenticated', 'token_invalid', 'The access token is invalid');
    }
    // The socket stays one user's: a token of someone else is not a refresh.
    if (fresh.sub !== (socket.data.identity as SocketIdentity).userId) throw new DomainError('unauthenticated', 'token_invalid', 'The token is of another user');
    await currentRole(app.userStates, fresh);
    return fresh as AccessClaims & { exp: number };
  }

  arm();
}
