/**
 * Small readers for environment variables. Each throws a ConfigError naming
 * the variable, so a wrong value stops the server with a message a person can
 * act on. Capabilities read their own section with these (see each capability's config.ts).
 */
export type Env = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const present = (env: Env, name: string): string | undefined => {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
};

export function str(env: Env, name: string, fallback: string): string;
export function str(env: Env, name: string): string | undefined;
export function str(env: Env, name: string, fallback?: string): string | undefined {
  return present(env, name) ?? fallback;
}

export function int(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be an integer, got "${raw}"`);
  const value = Number(raw);
  if (range.min !== undefined && value < range.min) throw new ConfigError(name, `must be >= ${range.min}, got ${value}`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(name, `must be <= ${range.max}, got ${value}`);
  return value;
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function url(env: Env, name: string, protocols: readonly string[]): string | undefined {
  const raw = present(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL, got "${raw}"`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got "${parsed.protocol}"`);
  }
  return raw;
}

/** Comma-separated list of integers, e.g. "1440,15". */
export function intList(env: Env, name: string, fallback: number[]): number[] {
  const raw = present(env, name);
  if (raw === undefined) return fallback;
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new ConfigError(name, `must be a comma-separated list of integers, got "${raw}"`);
  return parts.map(Number);
}
