import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { Type, type TObject } from 'typebox';
import { attendanceEnv, readAttendanceConfig, type AttendanceConfig } from '../attendance/config.ts';
import { codereviewEnv, readCodereviewConfig, type CodereviewConfig } from '../codereview/config.ts';
import { mailEnv, readMailConfig, type MailConfig } from '../mail/config.ts';
import { progressionEnv, readProgressionConfig, type ProgressionConfig } from '../progression/config.ts';
import { readRecordingConfig, recordingEnv, type RecordingConfig } from '../recording/config.ts';
import { readRoomsConfig, roomsEnv, type RoomsConfig } from '../rooms/config.ts';
import { readSchedulingConfig, schedulingEnv, type SchedulingConfig } from '../scheduling/config.ts';
import { ConfigError, OneOf, readEnv, UrlVar, type Env } from '../shared/env.ts';

/** The server's own variables: where it listens, its store, Redis, auth, start-up and shutdown. */
export const serverEnv = Type.Object({
  NODE_ENV: OneOf(['development', 'production', 'test'], { default: 'development', description: '`production` requires `JWT_SECRET`' }),
  HOST: Type.String({ default: '127.0.0.1', description: 'Address the HTTP and Socket.IO server listens on' }),
  PORT: Type.Integer({ default: 3000, minimum: 0, maximum: 65535, description: 'Port of the HTTP and Socket.IO server; `0` picks a free one' }),
  PUBLIC_URL: Type.Optional(UrlVar(['http:', 'https:'], { defaultText: 'http://HOST:PORT', description: 'Base URL people and calendar apps use (feeds, links)' })),
  LOG_LEVEL: OneOf(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino log level' }),
  DATA_DIR: Type.String({ default: './data', description: 'Embedded database, private Redis, recordings, generated JWT secret' }),
  DATABASE_URL: Type.Optional(UrlVar(['postgres:', 'postgresql:'], { defaultText: 'unset: embedded PGlite in DATA_DIR/pglite', description: 'PostgreSQL server to use instead of the embedded store' })),
  DATABASE_POOL_SIZE: Type.Integer({ default: 20, minimum: 1, maximum: 500, description: 'PostgreSQL connections per process (see BENCHMARKS.md)' }),
  REDIS_URL: Type.Optional(UrlVar(['redis:', 'rediss:'], { defaultText: 'unset: 127.0.0.1:6379 if it answers, else a private redis-server', description: 'Redis for jobs, Socket.IO and the room directory' })),
  REDIS_PREFIX: Type.String({ default: 'ml', description: 'Prefix of every Redis key (queues, Socket.IO streams, room directory)' }),
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32, secret: true, defaultText: 'generated into DATA_DIR/jwt-secret (not in production)', description: 'HS256 secret of the access tokens' })),
  ACCESS_TOKEN_TTL_SECONDS: Type.Integer({ default: 900, minimum: 10, maximum: 86_400, description: 'Access token lifetime' }),
  REFRESH_TOKEN_TTL_DAYS: Type.Integer({ default: 30, minimum: 1, maximum: 365, description: 'Refresh token lifetime (rotated on use, revocable)' }),
  ALLOWED_ORIGINS: Type.Optional(Type.String({ defaultText: 'unset: `PUBLIC_URL` only', description: 'Comma-separated browser origins (scheme://host[:port]) allowed to open Socket.IO connections' })),
  REFRESH_GRACE_SECONDS: Type.Integer({ default: 10, minimum: 0, maximum: 120, description: 'After a refresh token is rotated, presenting it again within this many seconds returns the same new tokens (parallel refreshes); later reuse revokes every token of the user' }),
  SOCKETS_PER_USER: Type.Integer({ default: 20, minimum: 1, description: 'Open Socket.IO sockets (all namespaces) of one user on one node; more are refused `socket_limit_user`' }),
  SOCKETS_PER_ADDRESS: Type.Integer({ default: 50, minimum: 1, description: 'Open Socket.IO sockets from one client address on one node; more are refused `socket_limit_address`' }),
  SOCKET_EVENTS_PER_SECOND: Type.Integer({ default: 30, minimum: 1, description: 'Sustained events per second of one socket (token bucket); beyond it events are acked `socket_rate_limited`' }),
  SOCKET_EVENT_BURST: Type.Integer({ default: 60, minimum: 1, description: 'Burst of events one socket may send above `SOCKET_EVENTS_PER_SECOND`' }),
  LOGIN_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 10, minimum: 1, description: 'Login attempts per minute and client address (counted in Redis, shared by every node)' }),
  EXPENSIVE_RATE_LIMIT_PER_MINUTE: Type.Integer({ default: 30, minimum: 1, description: 'Requests per minute and user to the expensive routes together (slot searches, CSV exports, archive downloads; counted in Redis)' }),
  LOGIN_ACCOUNT_FAILURE_LIMIT: Type.Integer({ default: 10, minimum: 1, description: 'Failed logins of one account per `LOGIN_ACCOUNT_WINDOW_MINUTES`, whatever the address, before its logins answer 429' }),
  LOGIN_ACCOUNT_WINDOW_MINUTES: Type.Integer({ default: 15, minimum: 1, maximum: 1440, description: 'Window of `LOGIN_ACCOUNT_FAILURE_LIMIT`' }),
  TRUST_PROXY: Type.Optional(Type.String({ defaultText: 'unset: `X-Forwarded-*` ignored, the client is the TCP peer', description: 'Comma-separated addresses or CIDRs of the reverse proxies whose `X-Forwarded-For` is believed' })),
  SEED_DEMO: Type.Boolean({ default: true, description: 'Seed the demo school into an empty store and print its logins at start' }),
  SHUTDOWN_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, description: 'Deadline of the whole shutdown: every step gets what is left, the database closes last' }),
});

/**
 * The one configuration schema, by capability: every environment variable the
 * server reads. The README's table is generated from it (`npm run docs:config`)
 * and test/config-schema.test.ts keeps the two, and the code, in step.
 */
export const configSections: ReadonlyArray<{ title: string; schema: TObject }> = [
  { title: 'Server', schema: serverEnv },
  { title: 'Scheduling', schema: schedulingEnv },
  { title: 'Live rooms', schema: roomsEnv },
  { title: 'Attendance', schema: attendanceEnv },
  { title: 'Recordings', schema: recordingEnv },
  { title: 'Progression', schema: progressionEnv },
  { title: 'Code review', schema: codereviewEnv },
  { title: 'Mail', schema: mailEnv },
];

export const configSchema = Type.Object(Object.assign({}, ...configSections.map((s) => s.schema.properties)));

export interface AppConfig {
  nodeEnv: 'development' | 'production' | 'test';
  host: string;
  port: number;
  /** Base URL people and calendar apps use to reach the server. */
  publicUrl: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  dataDir: string;
  /** postgres://… ; undefined = embedded PGlite under dataDir/pglite. */
  databaseUrl: string | undefined;
  /** Connections in the PostgreSQL pool (20: measured in load-tests, see BENCHMARKS.md). */
  databasePoolSize: number;
  /** redis://… ; undefined = 127.0.0.1:6379 if it answers, else a private redis-server. */
  redisUrl: string | undefined;
  /** Prefix of every Redis key the server writes (BullMQ queues, Socket.IO streams, room directory). */
  redisPrefix: string;
  jwtSecret: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlDays: number;
  loginRateLimitPerMinute: number;
  /** Requests per minute and user to the routes marked `config.expensive`. */
  expensiveRateLimitPerMinute: number;
  /** Socket caps: open sockets per user / per address (per node), events per second and burst per socket. */
  socketLimits: { perUser: number; perAddress: number; eventsPerSecond: number; burst: number };
  refreshGraceSeconds: number;
  /** Browser origins allowed on Socket.IO (default: the public URL's). */
  allowedOrigins: string[];
  loginAccountFailureLimit: number;
  loginAccountWindowMinutes: number;
  /** Proxies whose X-Forwarded-For is believed (Fastify `trustProxy`); empty = none. */
  trustProxy: string[];
  seedDemo: boolean;
  shutdownTimeoutMs: number;
  scheduling: SchedulingConfig;
  codereview: CodereviewConfig;
  rooms: RoomsConfig;
  attendance: AttendanceConfig;
  recording: RecordingConfig;
  progression: ProgressionConfig;
  mail: MailConfig;
}

/** JWT secret: JWT_SECRET, or one generated once and kept in the data dir (development only). */
function jwtSecretFrom(given: string | undefined, nodeEnv: AppConfig['nodeEnv'], dataDir: string): string {
  if (given !== undefined) return given;
  if (nodeEnv === 'production') throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

/** TRUST_PROXY as a list of addresses or CIDRs; anything else stops the server (trusting a typo would trust nobody, or everybody). */
function trustedProxies(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  for (const part of parts) {
    const [address, bits, ...rest] = part.split('/');
    const family = isIP(address ?? '');
    const maxBits = family === 6 ? 128 : 32;
    const bitsOk = bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !bitsOk || rest.length > 0) throw new ConfigError('TRUST_PROXY', `must be comma-separated IP addresses or CIDRs, got "${part}"`);
  }
  return parts;
}

/** ALLOWED_ORIGINS as origins; a value that is not one stops the server. */
function allowedOrigins(raw: string | undefined, publicUrl: string): string[] {
  const parts = raw === undefined ? [publicUrl] : raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  return parts.map((part) => {
    try {
      const origin = new URL(part).origin;
      if (origin === 'null') throw new Error('no origin');
      return origin;
    } catch {
      throw new ConfigError('ALLOWED_ORIGINS', `must be comma-separated origins such as https://school.example, got "${part}"`);
    }
  });
}

export function loadConfig(env: Env = process.env): AppConfig {
  const v = readEnv(serverEnv, env);
  const dataDir = resolve(v.DATA_DIR);
  const publicUrl = (v.PUBLIC_URL ?? `http://${v.HOST === '0.0.0.0' ? '127.0.0.1' : v.HOST}:${v.PORT}`).replace(/\/$/, '');
  return {
    nodeEnv: v.NODE_ENV,
    host: v.HOST,
    port: v.PORT,
    publicUrl,
    logLevel: v.LOG_LEVEL,
    dataDir,
    databaseUrl: v.DATABASE_URL,
    databasePoolSize: v.DATABASE_POOL_SIZE,
    redisUrl: v.REDIS_URL,
    redisPrefix: v.REDIS_PREFIX,
    jwtSecret: jwtSecretFrom(v.JWT_SECRET, v.NODE_ENV, dataDir),
    accessTokenTtlSeconds: v.ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTtlDays: v.REFRESH_TOKEN_TTL_DAYS,
    loginRateLimitPerMinute: v.LOGIN_RATE_LIMIT_PER_MINUTE,
    expensiveRateLimitPerMinute: v.EXPENSIVE_RATE_LIMIT_PER_MINUTE,
    socketLimits: { perUser: v.SOCKETS_PER_USER, perAddress: v.SOCKETS_PER_ADDRESS, eventsPerSecond: v.SOCKET_EVENTS_PER_SECOND, burst: v.SOCKET_EVENT_BURST },
    refreshGraceSeconds: v.REFRESH_GRACE_SECONDS,
    allowedOrigins: allowedOrigins(v.ALLOWED_ORIGINS, publicUrl),
    loginAccountFailureLimit: v.LOGIN_ACCOUNT_FAILURE_LIMIT,
    loginAccountWindowMinutes: v.LOGIN_ACCOUNT_WINDOW_MINUTES,
    trustProxy: trustedProxies(v.TRUST_PROXY),
    seedDemo: v.SEED_DEMO,
    shutdownTimeoutMs: v.SHUTDOWN_TIMEOUT_MS,
    scheduling: readSchedulingConfig(env),
    codereview: readCodereviewConfig(env),
    rooms: readRoomsConfig(env),
    attendance: readAttendanceConfig(env),
    recording: readRecordingConfig(env, dataDir),
    progression: readProgressionConfig(env),
    mail: readMailConfig(env),
  };
}
