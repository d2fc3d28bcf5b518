import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readAttendanceConfig, type AttendanceConfig } from '../attendance/config.ts';
import { readProgressionConfig, type ProgressionConfig } from '../progression/config.ts';
import { readRecordingConfig, type RecordingConfig } from '../recording/config.ts';
import { readRoomsConfig, type RoomsConfig } from '../rooms/config.ts';
import { readSchedulingConfig, type SchedulingConfig } from '../scheduling/config.ts';
import { bool, ConfigError, int, oneOf, str, url, type Env } from '../shared/env.ts';

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
  seedDemo: boolean;
  shutdownTimeoutMs: number;
  scheduling: SchedulingConfig;
  rooms: RoomsConfig;
  attendance: AttendanceConfig;
  recording: RecordingConfig;
  progression: ProgressionConfig;
}

/** JWT secret: JWT_SECRET, or one generated once and kept in the data dir (development only). */
function jwtSecretFrom(env: Env, nodeEnv: AppConfig['nodeEnv'], dataDir: string): string {
  const given = str(env, 'JWT_SECRET');
  if (given !== undefined) {
    if (given.length < 32) throw new ConfigError('JWT_SECRET', 'must be at least 32 characters');
    return given;
  }
  if (nodeEnv === 'production') throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret, { mode: 0o600 });
  return secret;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const nodeEnv = oneOf(env, 'NODE_ENV', ['development', 'production', 'test'] as const, 'development');
  const port = int(env, 'PORT', 3000, { min: 0, max: 65535 });
  const host = str(env, 'HOST', '127.0.0.1');
  const dataDir = resolve(str(env, 'DATA_DIR', './data'));
  const publicUrl = (url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(/\/$/, '');
  return {
    nodeEnv,
    host,
    port,
    publicUrl,
    logLevel: oneOf(env, 'LOG_LEVEL', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const, 'info'),
    dataDir,
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: int(env, 'DATABASE_POOL_SIZE', 20, { min: 1, max: 500 }),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: str(env, 'REDIS_PREFIX', 'ml'),
    jwtSecret: jwtSecretFrom(env, nodeEnv, dataDir),
    accessTokenTtlSeconds: int(env, 'ACCESS_TOKEN_TTL_SECONDS', 900, { min: 10, max: 86_400 }),
    refreshTokenTtlDays: int(env, 'REFRESH_TOKEN_TTL_DAYS', 30, { min: 1, max: 365 }),
    loginRateLimitPerMinute: int(env, 'LOGIN_RATE_LIMIT_PER_MINUTE', 10, { min: 1 }),
    seedDemo: bool(env, 'SEED_DEMO', true),
    shutdownTimeoutMs: int(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, { min: 100 }),
    scheduling: readSchedulingConfig(env),
    rooms: readRoomsConfig(env),
    attendance: readAttendanceConfig(env),
    recording: readRecordingConfig(env, dataDir),
    progression: readProgressionConfig(env),
  };
}
