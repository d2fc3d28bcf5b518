/**
 * The configuration schema's machinery. Each capability declares the
 * environment variables it reads as a TypeBox object (its `…Env` section in
 * its own config.ts: type, default, bounds and a one-line `description` per
 * variable); src/server/config.ts composes the sections into the one schema
 * that the README's table (`npm run docs:config`) and `npm start --
 * --print-config` are generated from. `readEnv` is the only way the server
 * reads its environment: it turns the strings into typed values and throws a
 * ConfigError naming the variable and the value, so a wrong value stops the
 * server with a line a person can act on.
 *
 * Annotations beyond JSON Schema, on a variable's schema:
 * - `defaultText`: the default when it is derived from other settings (no static `default`);
 * - `secret: true`: masked by --print-config;
 * - `protocols`: a URL and its allowed schemes (a password in it is masked too);
 * - `expected`: what a JSON value must look like, for the error line.
 */
import { Type, type Static, type TObject, type TProperties, type TSchema } from 'typebox';
import { Value } from 'typebox/value';

export type Env = Record<string, string | undefined>;

/** A bad value: names the variable, says what it must be and what it got. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

/**
 * A valid value the machine refuses at start (a port in use, a database that
 * does not answer): names the setting and the value to change.
 */
export class StartupError extends Error {
  readonly variable: string;
  constructor(variable: string, value: string, problem: string) {
    super(`Cannot start: ${variable}=${value} ${problem}`);
    this.name = 'StartupError';
    this.variable = variable;
  }
}

/** The annotations readEnv and the generators read (see the header). */
export type EnvAnnotations = {
  description?: string;
  default?: unknown;
  defaultText?: string;
  secret?: boolean;
  protocols?: readonly string[];
  expected?: string;
};

/** A variable's schema as plain JSON Schema plus the annotations. */
type EnvSchema = TSchema &
  EnvAnnotations & {
    type?: string;
    items?: EnvSchema;
    anyOf?: Array<{ const?: unknown }>;
    enum?: unknown[];
  };

/** A URL variable: a string whose scheme is one of `protocols`. */
export function UrlVar(protocols: readonly string[], options: EnvAnnotations) {
  return Type.String({ ...options, protocols });
}

/** One of a few words, e.g. log levels. */
export function OneOf<const T extends string[]>(values: readonly [...T], options: EnvAnnotations) {
  return Type.Enum<T>(values, options);
}

const present = (env: Env, name: string): string | undefined => {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
};

const choicesOf = (schema: EnvSchema): string[] | undefined =>
  schema.enum?.map(String) ?? (schema.anyOf?.every((s) => s.const !== undefined) ? schema.anyOf.map((s) => String(s.const)) : undefined);

/** The string of one variable as the type its schema says; throws what it must be. */
function decode(name: string, schema: EnvSchema, raw: string): unknown {
  const shown = schema.secret ? '(value hidden)' : `"${raw}"`;
  const choices = choicesOf(schema);
  if (choices) {
    if (!choices.includes(raw)) throw new ConfigError(name, `must be one of ${choices.join(', ')}, got ${shown}`);
    return raw;
  }
  switch (schema.type) {
    case 'integer':
    case 'number':
      if (!(schema.type === 'integer' ? /^-?\d+$/ : /^-?\d+(\.\d+)?$/).test(raw)) throw new ConfigError(name, `must be ${schema.type === 'integer' ? 'an integer' : 'a number'}, got ${shown}`);
      return Number(raw);
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new ConfigError(name, `must be true or false, got ${shown}`);
    case 'array':
      if (schema.items?.type === 'integer') {
        const parts = raw.split(',').map((p) => p.trim());
        if (parts.some((p) => !/^-?\d+$/.test(p))) throw new ConfigError(name, `must be a comma-separated list of integers, got ${shown}`);
        return parts.map(Number);
      }
      try {
        return JSON.parse(raw);
      } catch {
        throw new ConfigError(name, `must be ${schema.expected ?? 'JSON'}, got ${shown}`);
      }
    default:
      if (schema.protocols) {
        let parsed: URL;
        try {
          parsed = new URL(raw);
        } catch {
          throw new ConfigError(name, `must be a URL, got ${shown}`);
        }
        if (!schema.protocols.includes(parsed.protocol)) throw new ConfigError(name, `must use ${schema.protocols.join(' or ')}, got "${parsed.protocol}"`);
      }
      return raw;
  }
}

/** Checks a decoded value against the schema's bounds; the first failure, worded for a person. */
function check(name: string, schema: EnvSchema, value: unknown, raw: string): void {
  const [first] = Value.Errors(schema, value);
  if (!first) return;
  const got = schema.secret ? '' : `, got ${schema.type === 'string' ? `"${raw}"` : raw}`;
  const params = first.params as { comparison?: string; limit?: number };
  const at = first.instancePath ? ` (item ${first.instancePath.slice(1)})` : '';
  if ((first.keyword === 'minimum' || first.keyword === 'maximum') && params.limit !== undefined) {
    throw new ConfigError(name, `must be ${first.keyword === 'minimum' ? '>=' : '<='} ${params.limit}${at}${got}`);
  }
  if (first.keyword === 'minLength') throw new ConfigError(name, `must be at least ${params.limit} characters${got}`);
  if (schema.expected) throw new ConfigError(name, `must be ${schema.expected}${got}`);
  throw new ConfigError(name, `${first.message}${at}${got}`);
}

/**
 * Reads one section of the schema from `env`: each variable decoded, checked
 * against its bounds, or its static default when unset (undefined when it has
 * none, which the section's type says with Type.Optional).
 */
export function readEnv<P extends TProperties>(section: TObject<P>, env: Env): Static<TObject<P>> {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(section.properties) as Array<[string, EnvSchema]>) {
    const raw = present(env, name);
    if (raw === undefined) {
      if (schema.default !== undefined) out[name] = structuredClone(schema.default);
      continue;
    }
    const value = decode(name, schema, raw);
    check(name, schema, value, raw);
    out[name] = value;
  }
  return out as Static<TObject<P>>;
}

/** A variable's annotations, for the generators (README table, --print-config). */
export const annotationsOf = (schema: TSchema): EnvSchema => schema as EnvSchema;

/** The type of a variable as a person reads it: integer 1–500, true/false, one of …, URL (postgres:), … */
export function describeType(schema: TSchema): string {
  const s = annotationsOf(schema) as EnvSchema & { minimum?: number; maximum?: number; minLength?: number };
  const choices = choicesOf(s);
  if (choices) return choices.join(' \\| ');
  switch (s.type) {
    case 'integer':
    case 'number': {
      const noun = s.type;
      if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} ${s.minimum}–${s.maximum}`;
      if (s.minimum !== undefined) return `${noun} ≥ ${s.minimum}`;
      if (s.maximum !== undefined) return `${noun} ≤ ${s.maximum}`;
      return noun;
    }
    case 'boolean':
      return 'true/false';
    case 'array':
      return s.items?.type === 'integer' ? 'integers, comma-separated' : 'JSON array';
    default:
      if (s.protocols) return `URL (${s.protocols.join(' ')})`;
      return s.minLength ? `string, ≥ ${s.minLength} chars` : 'string';
  }
}

/** The value as --print-config shows it: secrets masked, a URL's password masked. */
export function maskValue(schema: TSchema, raw: string): string {
  const s = annotationsOf(schema);
  if (s.secret) return '********';
  if (s.protocols) {
    try {
      const parsed = new URL(raw);
      if (parsed.password) parsed.password = '***';
      return parsed.toString();
    } catch {
      return raw;
    }
  }
  return raw;
}
