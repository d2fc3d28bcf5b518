import { cpus } from 'node:os';
import { Type, type Static } from 'typebox';
import { ConfigError, OneOf, readEnv, UrlVar, type Env } from '../shared/env.ts';

const IceServerSchema = Type.Object({
  urls: Type.Union([Type.String(), Type.Array(Type.String())]),
  username: Type.Optional(Type.String()),
  credential: Type.Optional(Type.String()),
});
export type IceServer = Static<typeof IceServerSchema>;

/** Live rooms' variables (part of the configuration schema, src/server/config.ts). */
export const roomsEnv = Type.Object({
  MEDIASOUP_WORKERS: Type.Integer({ default: 0, minimum: 0, maximum: 64, description: 'mediasoup worker processes; `0` = one per CPU core' }),
  MEDIASOUP_LISTEN_IP: Type.String({ default: '127.0.0.1', description: 'Address the WebRtcServers listen on' }),
  MEDIASOUP_ANNOUNCED_ADDRESS: Type.Optional(Type.String({ defaultText: 'unset: MEDIASOUP_LISTEN_IP', description: 'Address given to clients in ICE candidates (public IP or host name, behind NAT)' })),
  MEDIASOUP_PORT: Type.Integer({ default: 40000, minimum: 0, maximum: 65000, description: 'First WebRtcServer port (worker i listens on it + i, UDP and TCP); `0` picks free ports' }),
  MEDIASOUP_LOG_LEVEL: OneOf(['debug', 'warn', 'error', 'none'], { default: 'warn', description: 'mediasoup worker log level' }),
  ROOM_JOIN_EARLY_MINUTES: Type.Integer({ default: 10, minimum: 0, description: 'Participants may enter this long before the start' }),
  ROOM_GRACE_AFTER_END_MINUTES: Type.Integer({ default: 15, minimum: 0, description: 'The room stays open this long after the end' }),
  ROOM_EMPTY_TIMEOUT_SECONDS: Type.Integer({ default: 300, minimum: 1, description: 'A room nobody joined closes after this' }),
  ROOM_RECONNECT_GRACE_SECONDS: Type.Integer({ default: 60, minimum: 0, description: 'A dropped participant keeps their place this long' }),
  ROOM_DEPARTURE_GRACE_SECONDS: Type.Integer({ default: 60, minimum: 0, description: 'After the last peer leaves, the room waits this long before closing' }),
  ROOM_MAX_SCREEN_SHARES: Type.Integer({ default: 1, minimum: 0, maximum: 16, description: 'Screen shares allowed at once in one room' }),
  ROOM_MAX_TRANSPORTS_PER_PEER: Type.Integer({ default: 32, minimum: 2, maximum: 256, description: 'Transports one peer may hold at once (guard against runaway clients)' }),
  ROOMS_NODE_ID: Type.Optional(Type.String({ defaultText: 'host-pid-random', description: 'Id of this process in the Redis room directory' })),
  ROOMS_NODE_URL: Type.Optional(UrlVar(['http:', 'https:'], { defaultText: 'unset: PUBLIC_URL', description: "This node's own public signalling URL: a client joining a room held here through another node is sent to it" })),
  ROOMS_LEASE_SECONDS: Type.Integer({ default: 15, minimum: 3, maximum: 300, description: "A room's ownership lease in Redis (renewed every third of it): a killed node's rooms are placed anew after this" }),
  ROOMS_DRAIN_DEADLINE_SECONDS: Type.Integer({ default: 3 * 3600, minimum: 0, description: 'On SIGTERM, live rooms go on this long at most (new rooms go to other nodes); then their clients are moved. A second SIGTERM forces' }),
  ROOM_ICE_SERVERS: Type.Optional(
    Type.Array(IceServerSchema, {
      secret: true,
      expected: 'a JSON array of { urls, username?, credential? }',
      defaultText: 'none',
      description: 'STUN/TURN servers given to clients at join, as JSON: `[{"urls":"turn:…","username":"…","credential":"…"}]`',
    }),
  ),
  TURN_URLS: Type.Optional(Type.String({ defaultText: 'none', description: 'Comma-separated turn:/turns: URLs of a coturn with use-auth-secret (expiring credentials at join)' })),
  TURN_SECRET: Type.Optional(Type.String({ minLength: 16, secret: true, defaultText: 'none (required with TURN_URLS)', description: "coturn's static-auth-secret" })),
  TURN_CREDENTIAL_TTL_SECONDS: Type.Integer({ default: 14_400, minimum: 60, maximum: 7 * 86_400, description: 'Lifetime of the TURN credentials given at join' }),
  ROOM_ICE_TRANSPORT_POLICY: OneOf(['all', 'relay'], { default: 'all', description: '`relay` makes clients use TURN only (needs a TURN server)' }),
});

/** A TURN relay (coturn with `use-auth-secret`): clients get expiring credentials at join (see turn.ts). */
export interface TurnConfig {
  urls: string[];
  secret: string;
  credentialTtlSeconds: number;
}

function turnFrom(raw: string | undefined, secret: string | undefined, credentialTtlSeconds: number): TurnConfig | undefined {
  if (raw === undefined) {
    if (secret !== undefined) throw new ConfigError('TURN_SECRET', 'is set but TURN_URLS is not');
    return undefined;
  }
  const urls = raw.split(',').map((u) => u.trim());
  const bad = urls.find((u) => !/^turns?:[^\s/?#]+(\?transport=(udp|tcp))?$/.test(u));
  if (bad !== undefined) throw new ConfigError('TURN_URLS', `must be comma-separated turn: or turns: URLs (host[:port][?transport=udp|tcp]), got "${bad}"`);
  if (secret === undefined) throw new ConfigError('TURN_SECRET', "is required with TURN_URLS (coturn's static-auth-secret)");
  return { urls, secret, credentialTtlSeconds };
}

export interface RoomsConfig {
  /** mediasoup workers to run; 0 = one per CPU core. */
  workers: number;
  listenIp: string;
  /** Address given to clients in ICE candidates (public IP or host name). */
  announcedAddress: string | undefined;
  /** First port of the WebRtcServer ports (worker i listens on port + i, UDP and TCP); 0 = free ports picked by the system. */
  webRtcServerPort: number;
  /** Minutes before the start at which participants may enter. */
  joinEarlyMinutes: number;
  /** Minutes after the end during which the room stays open. */
  graceAfterEndMinutes: number;
  /** A room nobody is in closes after this many seconds. */
  emptyTimeoutSeconds: number;
  /** A peer whose socket dropped keeps its place for this many seconds. */
  reconnectGraceSeconds: number;
  /** After the last peer leaves, the room waits this long before closing (distinct from emptyTimeoutSeconds). */
  departureGraceSeconds: number;
  /** Screen-share producers allowed at once in one room. */
  maxScreenShares: number;
  /** Transports one peer may hold at once (a guard against runaway clients). */
  maxTransportsPerPeer: number;
  /** Id of this server process in the room → node directory (default: host-pid-random). */
  nodeId: string | undefined;
  /** This node's public signalling URL (default: PUBLIC_URL). */
  nodeUrl: string | undefined;
  leaseSeconds: number;
  drainDeadlineSeconds: number;
  /** ICE servers given to clients at join (STUN/TURN), from ROOM_ICE_SERVERS (JSON array); none by default. */
  iceServers: IceServer[];
  turn: TurnConfig | undefined;
  iceTransportPolicy: 'all' | 'relay';
  /** mediasoup worker log level. */
  workerLogLevel: 'debug' | 'warn' | 'error' | 'none';
}

export function readRoomsConfig(env: Env): RoomsConfig {
  const v = readEnv(roomsEnv, env);
  const iceServers = v.ROOM_ICE_SERVERS ?? [];
  const turn = turnFrom(v.TURN_URLS, v.TURN_SECRET, v.TURN_CREDENTIAL_TTL_SECONDS);
  const hasRelay = turn !== undefined || iceServers.some((s) => [s.urls].flat().some((u) => /^turns?:/.test(u)));
  if (v.ROOM_ICE_TRANSPORT_POLICY === 'relay' && !hasRelay) throw new ConfigError('ROOM_ICE_TRANSPORT_POLICY', 'is relay but no TURN server is configured (TURN_URLS)');
  return {
    workers: v.MEDIASOUP_WORKERS === 0 ? cpus().length : v.MEDIASOUP_WORKERS,
    listenIp: v.MEDIASOUP_LISTEN_IP,
    announcedAddress: v.MEDIASOUP_ANNOUNCED_ADDRESS,
    webRtcServerPort: v.MEDIASOUP_PORT,
    joinEarlyMinutes: v.ROOM_JOIN_EARLY_MINUTES,
    graceAfterEndMinutes: v.ROOM_GRACE_AFTER_END_MINUTES,
    emptyTimeoutSeconds: v.ROOM_EMPTY_TIMEOUT_SECONDS,
    reconnectGraceSeconds: v.ROOM_RECONNECT_GRACE_SECONDS,
    departureGraceSeconds: v.ROOM_DEPARTURE_GRACE_SECONDS,
    maxScreenShares: v.ROOM_MAX_SCREEN_SHARES,
    maxTransportsPerPeer: v.ROOM_MAX_TRANSPORTS_PER_PEER,
    nodeId: v.ROOMS_NODE_ID,
    nodeUrl: v.ROOMS_NODE_URL?.replace(/\/$/, ''),
    leaseSeconds: v.ROOMS_LEASE_SECONDS,
    drainDeadlineSeconds: v.ROOMS_DRAIN_DEADLINE_SECONDS,
    iceServers,
    turn,
    iceTransportPolicy: v.ROOM_ICE_TRANSPORT_POLICY,
    workerLogLevel: v.MEDIASOUP_LOG_LEVEL,
  };
}
