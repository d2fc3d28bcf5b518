import fp from 'fastify-plugin';
import { Server, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import { currentRole, type AccessClaims } from './auth.ts';
import type { SocketIdentity } from '../../shared/socket.ts';
import { DomainError, type CodeOf } from '../../shared/errors.ts';
import { guardSocket } from './socket-session.ts';
import { clientAddressOf } from '../client-address.ts';

export type SocketMiddleware = (socket: Socket, next: (err?: Error) => void) => void;

declare module 'fastify' {
  interface FastifyInstance {
    io: Server;
    /** Handshake middleware: every namespace uses it (`io.of(ns).use(app.socketAuth)`). */
    socketAuth: SocketMiddleware;
  }
}

/** A browser's Origin: absent (no browser), one of the configured ones, or the server's own (same origin: the page it served). */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes(origin)) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Socket.IO channel of one user: notifications are sent to `userChannel(id)`. */
export const userChannel = (userId: string) => `user:${userId}`;

/**
 * Socket.IO on the same HTTP server as Fastify, with the Redis Streams adapter
 * (the one adapter that keeps connection-state recovery across processes).
 * The handshake must carry the same JWT access token as HTTP
 * (`auth: { token }`); a bad or expired token is refused at connect with
 * `connect_error` data `{ code }`.
 * Kept whole (~95 lines): the server, its handshake and its shutdown hooks, in the order they run.
 */
export const socketsPlugin = fp<{ redis: Redis; streamName: string }>(
  async (app, opts) => {
    const io = new Server(app.server, {
      adapter: createAdapter(opts.redis, {
        streamName: opts.streamName,
        channelPrefix: opts.streamName,
        sessionKeyPrefix: `${opts.streamName}:session:`,
        // The stream reader only notices a close between two blocking XREADs: a
        // short block lets a closed server exit within a second (one cheap
        // XREAD per second per process otherwise).
        blockTimeInMs: 1000,
      }),
      connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false },
      serveClient: false,
      // Browsers may connect from the configured origins only (ALLOWED_ORIGINS, default the public URL):
      // CORS covers polling; allowRequest covers WebSocket upgrades, which CORS does not. Clients
      // that are no browser send no Origin and are judged by their token alone.
      cors: { origin: (origin, cb) => cb(null, origin === undefined || app.config.allowedOrigins.includes(origin)), credentials: true },
      allowRequest: (req, callback) => {
        const ok = originAllowed(req.headers.origin, req.headers.host, app.config.allowedOrigins);
        callback(ok ? null : 'origin_not_allowed', ok);
      },
    });

    // Open sockets per user and per address, counted per node: a socket lives on one
    // process, so its count dies with it (a Redis count would leak on a crash); a
    // user's cap across N nodes is at most N × SOCKETS_PER_USER, still bounded.
    const perUser = new Map<string, number>();
    const perAddress = new Map<string, number>();
    const bump = (m: Map<string, number>, k: string, d: number) => {
      const n = (m.get(k) ?? 0) + d;
      if (n <= 0) m.delete(k);
      else m.set(k, n);
    };

    // The client's address as HTTP has it (TRUST_PROXY), not the handshake's TCP peer.
    const clientAddress = clientAddressOf(app.config.trustProxy);

    const socketAuth: SocketMiddleware = (socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const refuse = (code: CodeOf<'unauthenticated'>, message: string) => {
        const err = new Error(message) as Error & { data: { code: string } };
        err.data = { code };
        next(err);
      };
      if (typeof token !== 'string' || token === '') return refuse('token_missing', 'An access token is required');
      let claims: AccessClaims;
      try {
        claims = app.jwt.verify<AccessClaims>(token);
      } catch (err) {
        if ((err as { code?: string }).code === 'FAST_JWT_EXPIRED') refuse('token_expired', 'The access token has expired');
        else refuse('token_invalid', 'The access token is invalid');
        return;
      }
      // Identity and role from the store: a revoked token (logout, password or role change, disabled account) is refused.
      currentRole(app.userStates, claims).then(
        (role) => {
          const limits = app.config.socketLimits;
          const address = clientAddress(socket.request);
          const limited = (data: { code: string }, message: string) => {
            const err = new Error(message) as Error & { data: { code: string } };
            err.data = data;
            next(err);
          };
          if ((perUser.get(claims.sub) ?? 0) >= limits.perUser) return limited({ code: 'socket_limit_user' }, 'Too many open sockets for this user');
          if ((perAddress.get(address) ?? 0) >= limits.perAddress) return limited({ code: 'socket_limit_address' }, 'Too many open sockets from this address');
          bump(perUser, claims.sub, 1);
          bump(perAddress, address, 1);
          socket.on('disconnect', () => {
            bump(perUser, claims.sub, -1);
            bump(perAddress, address, -1);
          });
          socket.data.identity = { userId: claims.sub, role } satisfies SocketIdentity;
          guardSocket(app, socket, claims as AccessClaims & { exp: number });
          next();
        },
        (err: unknown) => refuse(err instanceof DomainError && err.kind === 'unauthenticated' ? (err.code as CodeOf<'unauthenticated'>) : 'token_invalid', (err as Error).message),
      );
    };

    io.use(socketAuth);
    io.on('connection', (socket) => {
      void socket.join(userChannel((socket.data.identity as SocketIdentity).userId));
    });

    app.decorate('io', io);
    app.decorate('socketAuth', socketAuth);
    // Upgraded connections keep server.close() waiting: drop them first (as
    // fastify-socket.io does), then close Socket.IO itself with the server.
    app.addHook('preClose', async () => {
      io.local.disconnectSockets(true);
      // Other namespaces (/rooms, /defence, /review) too: closing the engine drops
      // every underlying connection, whichever namespaces it carried.
      io.engine.close();
    });
    app.addHook('onClose', async () => {
      await app.shutdown.step('socket.io', () => new Promise<void>((done) => io.close(() => done())));
    });
  },
  { name: 'sockets', dependencies: ['auth'] },
);
