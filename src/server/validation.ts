import { AjvCompiler, type ValidatorFactory } from '@fastify/ajv-compiler';

/**
 * Fastify's validator factory (its own Ajv compiler, options from `ajv` in
 * buildApp) with one difference: JSON bodies are never coerced.
 *
 * Query strings, path parameters and headers are text, so Ajv coerces them to
 * the schema's types ("?limit=20" → 20, "?includeCancelled=true" → true, one
 * "?juryIds=…" → a one-item array: `coerceTypes: 'array'`). A JSON body already
 * carries types: `"weekday": "1"` or `"startsAt": ["2027-01-04T09:00:00Z"]` is a
 * client bug, refused as 400 validation_failed instead of turned into a booking.
 */
const pool = AjvCompiler();

export const buildValidator: ValidatorFactory = (externalSchemas, options) => {
  const text = pool(externalSchemas, options);
  const json = pool(externalSchemas, { ...options, customOptions: { ...options?.customOptions, coerceTypes: false } } as typeof options);
  return (route) => (route.httpPart === 'body' ? json(route) : text(route));
};
