import fp from 'fastify-plugin';
import { Server, type Socket } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { Redis } from 'ioredis';
import type { AccessClaims } from './auth.ts';
import type { SocketIdentity } from '../../shared/socket.ts';

export type SocketMiddleware = (socket: Socket, next: (err?: Error) => void) => void;

declare module 'fastify' {
  interface FastifyInstance {
    io: Server;
    /** Handshake middleware: every namespace uses it (`io.of(ns).use(app.socketAuth)`). */
    socketAuth: SocketMiddleware;
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
      cors: { origin: true, credentials: true },
    });

    const socketAuth: SocketMiddleware = (socket, next) => {
      const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
      const refuse = (code: string, message: string) => {
        const err = new Error(message) as Error & { data: { code: string } };
        err.data = { code };
        next(err);
      };
      if (typeof token !== 'string' || token === '') return refuse('token_missing', 'An access token is required');
      try {
        const claims = app.jwt.verify<AccessClaims>(token);
        socket.data.identity = { userId: claims.sub, role: claims.role } satisfies SocketIdentity;
        next();
      } catch (err) {
        const expired = (err as { code?: string }).code === 'FAST_JWT_EXPIRED';
        refuse(expired ? 'token_expired' : 'token_invalid', expired ? 'The access token has expired' : 'The access token is invalid');
      }
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
      await new Promise<void>((done) => io.close(() => done()));
    });
  },
  { name: 'sockets', dependencies: ['auth'] },
);
