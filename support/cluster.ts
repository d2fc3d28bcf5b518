/**
 * Several server nodes on this machine, as the tests (test/helpers/cluster.ts)
 * and the benchmark (load-tests/parts/cluster.ts) run them: the settings that
 * make N processes one deployment, and a client's way into a room that may
 * live on another node (the join answer `room_elsewhere` names the owner).
 */
import { createServer } from 'node:net';
import { io, type Socket } from 'socket.io-client';
import { RoomRequestError, WeriftPeer, type JoinData } from './werift-peer.ts';

/** A free TCP port on 127.0.0.1 (for a process that must know its port before it listens). */
export const freePort = () =>
  new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });

/**
 * The settings that make one node of a deployment on this machine: its id and
 * public URL, every node's origin accepted (pages may come from any node and be
 * sent to a room on another, as a load balancer's single origin does), and a
 * join window of two hours either side so fixtures' sessions can be entered now.
 */
export function clusterNodeEnv(node: { id: string; url: string }, allUrls: string[]): Record<string, string> {
  return {
    ALLOWED_ORIGINS: allUrls.join(','),
    ROOM_JOIN_EARLY_MINUTES: '120',
    ROOM_GRACE_AFTER_END_MINUTES: '120',
    ROOMS_NODE_ID: node.id,
    PUBLIC_URL: node.url,
  };
}

/**
 * Joins a room entering through `entryUrl` and following a `room_elsewhere`
 * answer to the owner's URL, as the browser client does (`room_moving` and
 * `no_node_available` are retried; a node that does not answer sends the
 * client back through the entry). `client` says how to connect, join and close.
 */
export async function joinFollowing<C>(
  entryUrl: string,
  client: { connect(url: string): Promise<C>; join(c: C): Promise<JoinData>; close(c: C): Promise<void> | void },
  timeoutMs = 30_000,
): Promise<{ client: C; joined: JoinData; url: string }> {
  const until = Date.now() + timeoutMs;
  let url = entryUrl;
  for (;;) {
    let c: C;
    try {
      c = await client.connect(url);
    } catch (err) {
      // A refusal by the server (bad token, socket limits) is final; a transport error means the named
      // node does not answer (it died after its last registry publication): back through the entry.
      if (!isTransportError(err) || Date.now() > until) throw err;
      url = entryUrl;
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    try {
      return { client: c, joined: await client.join(c), url };
    } catch (err) {
      await client.close(c);
      if (!(err instanceof RoomRequestError) || Date.now() > until) throw err;
      if (err.code === 'room_elsewhere') url = String(err.details?.url);
      else if (err.code === 'room_moving' || err.code === 'no_node_available') await new Promise((r) => setTimeout(r, 500));
      else throw err;
    }
  }
}

/** socket.io-client's connect_error for a connection that failed (as opposed to one the server refused). */
function isTransportError(err: unknown): boolean {
  const type = (err as { type?: string }).type;
  return type === 'TransportError' || (err as Error).message === 'timeout' || (err as NodeJS.ErrnoException).code === 'ECONNREFUSED';
}

/** A werift peer joined to a session's room through `entryUrl`; `url` is the node that holds the room. */
export async function joinThrough(entryUrl: string, token: string, sessionId: string, timeoutMs = 30_000): Promise<{ peer: WeriftPeer; joined: JoinData; url: string }> {
  const r = await joinFollowing(entryUrl, { connect: (url) => WeriftPeer.connect(url, token), join: (p) => p.join(sessionId), close: (p) => p.close() }, timeoutMs);
  return { peer: r.client, joined: r.joined, url: r.url };
}

/** A bare Socket.IO client on `/rooms` (signalling only, no WebRTC): cheap enough for thousands. */
export function connectRooms(url: string, token: string, timeoutMs = 20_000): Promise<Socket> {
  const socket = io(`${url}/rooms`, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, timeout: timeoutMs });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (err) => {
      socket.close();
      reject(err);
    });
  });
}

/** Sends a `/rooms` request; an error ack throws RoomRequestError (as WeriftPeer.request does). */
export async function roomRequest<T = unknown>(socket: Socket, event: string, payload: unknown, timeoutMs = 20_000): Promise<T> {
  const reply = (await socket.timeout(timeoutMs).emitWithAck(event, payload)) as { data?: T; error?: { code: string; message: string; details?: Record<string, unknown> } };
  if (reply.error) throw new RoomRequestError(event, reply.error.code, reply.error.message, reply.error.details);
  return reply.data as T;
}

/** A signalling-only client joined to a session's room through `entryUrl`, following redirects. */
export async function socketJoinThrough(entryUrl: string, token: string, sessionId: string, timeoutMs = 30_000): Promise<{ socket: Socket; joined: JoinData; url: string }> {
  const r = await joinFollowing(
    entryUrl,
    { connect: (url) => connectRooms(url, token), join: (s) => roomRequest<JoinData>(s, 'join', { sessionId }), close: (s) => void s.close() },
    timeoutMs,
  );
  return { socket: r.client, joined: r.joined, url: r.url };
}
