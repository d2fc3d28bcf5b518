import { cpus } from 'node:os';
import { ConfigError, int, oneOf, str, type Env } from '../shared/env.ts';

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

function iceServersFrom(env: Env): IceServer[] {
  const raw = str(env, 'ROOM_ICE_SERVERS');
  if (raw === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError('ROOM_ICE_SERVERS', 'must be a JSON array of { urls, username?, credential? }');
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (s: unknown) =>
        typeof s === 'object' &&
        s !== null &&
        (typeof (s as IceServer).urls === 'string' || (Array.isArray((s as IceServer).urls) && ((s as IceServer).urls as unknown[]).every((u) => typeof u === 'string'))) &&
        ['username', 'credential'].every((k) => (s as Record<string, unknown>)[k] === undefined || typeof (s as Record<string, unknown>)[k] === 'string'),
    );
  if (!valid) throw new ConfigError('ROOM_ICE_SERVERS', 'must be a JSON array of { urls, username?, credential? }');
  return parsed as IceServer[];
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
  /** ICE servers given to clients at join (STUN/TURN), from ROOM_ICE_SERVERS (JSON array); none by default. */
  iceServers: IceServer[];
  /** mediasoup worker log level. */
  workerLogLevel: 'debug' | 'warn' | 'error' | 'none';
}

export function readRoomsConfig(env: Env): RoomsConfig {
  const workers = int(env, 'MEDIASOUP_WORKERS', 0, { min: 0, max: 64 });
  return {
    workers: workers === 0 ? cpus().length : workers,
    listenIp: str(env, 'MEDIASOUP_LISTEN_IP', '127.0.0.1'),
    announcedAddress: str(env, 'MEDIASOUP_ANNOUNCED_ADDRESS'),
    webRtcServerPort: int(env, 'MEDIASOUP_PORT', 40000, { min: 0, max: 65000 }),
    joinEarlyMinutes: int(env, 'ROOM_JOIN_EARLY_MINUTES', 10, { min: 0 }),
    graceAfterEndMinutes: int(env, 'ROOM_GRACE_AFTER_END_MINUTES', 15, { min: 0 }),
    emptyTimeoutSeconds: int(env, 'ROOM_EMPTY_TIMEOUT_SECONDS', 300, { min: 1 }),
    reconnectGraceSeconds: int(env, 'ROOM_RECONNECT_GRACE_SECONDS', 60, { min: 0 }),
    departureGraceSeconds: int(env, 'ROOM_DEPARTURE_GRACE_SECONDS', 60, { min: 0 }),
    maxScreenShares: int(env, 'ROOM_MAX_SCREEN_SHARES', 1, { min: 0, max: 16 }),
    maxTransportsPerPeer: int(env, 'ROOM_MAX_TRANSPORTS_PER_PEER', 32, { min: 2, max: 256 }),
    nodeId: str(env, 'ROOMS_NODE_ID'),
    iceServers: iceServersFrom(env),
    workerLogLevel: oneOf(env, 'MEDIASOUP_LOG_LEVEL', ['debug', 'warn', 'error', 'none'] as const, 'warn'),
  };
}
