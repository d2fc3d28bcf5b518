import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';

/**
 * Fastify's validator factory (its own Ajv compiler, options from `ajv` in
 * buildApp) with two differences: JSON bodies are never coerced, and no
 * request part may hold a number that is not finite.
 *
 * Query strings, path parameters and headers are text, so Ajv coerces them to
 * the schema's types ("?limit=20" → 20, "?includeCancelled=true" → true, one
 * "?juryIds=…" → a one-item array: `coerceTypes: 'array'`). A JSON body already
 * carries types: `"weekday": "1"` or `"startsAt": ["2027-01-04T09:00:00Z"]` is a
 * client bug, refused as 400 validation_failed instead of turned into a booking.
 *
 * Ajv's `integer` and `number` accept Infinity (Infinity % 1 is NaN, and !NaN),
 * and both "?limit=Infinity" and "?limit=1e400" coerce to it, as does `1e400`
 * in a JSON body (JSON.parse); a schema without bounds would hand it to a
 * handler (a loop bound, a SQL parameter). Checked here, once for every route:
 * 400 validation_failed like any other invalid field.
 */
const pool = AjvCompiler();

interface AjvError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message: string;
}
type Validate = ((data: unknown, ctx?: { parentData: Record<string, unknown>; parentDataProperty: string }) => unknown) & { errors?: AjvError[] | null; schemaEnv?: unknown };

/** JSON pointer of the first number in `value` that is not finite, or undefined. */
export function nonFinitePath(value: unknown, path = '', depth = 0): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : path || '/';
  if (depth > 64 || value === null || typeof value !== 'object') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const found = nonFinitePath(v, `${path}/${k}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function finiteOnly(validate: Validate): Validate {
  const wrapped: Validate = (data, ctx) => {
    const ok = ctx ? validate(data, ctx) : validate(data);
    wrapped.errors = validate.errors ?? null;
    if (ok === false || (ok && typeof (ok as Promise<unknown>).then === 'function')) return ok;
    // Coercion may have replaced the root value in its parent (the request): read it back from there.
    const path = nonFinitePath(ctx ? ctx.parentData[ctx.parentDataProperty] : data);
    if (path === undefined) return ok;
    wrapped.errors = [{ instancePath: path === '/' ? '' : path, schemaPath: '#/finite', keyword: 'finite', params: {}, message: 'must be a finite number' }];
    return false;
  };
  if (validate.schemaEnv !== undefined) wrapped.schemaEnv = validate.schemaEnv;
  return wrapped;
}

export const buildValidator: ValidatorFactory = (externalSchemas, options) => {
  const text = pool(externalSchemas, options);
  const json = pool(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
  return (route) => finiteOnly((route.httpPart === 'body' ? json(route) : text(route)) as unknown as Validate) as never;
};
