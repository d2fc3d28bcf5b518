/**
 * The server's route list as its OpenAPI document says (GET /docs/json), for
 * the tests that must cover every route (authorization matrix, fuzz): a route
 * added to the server is in the document, so it is in those tests too.
 */

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  minProperties?: number;
  [k: string]: unknown;
}

export interface Parameter {
  in: 'path' | 'query' | 'header';
  name: string;
  required?: boolean;
  schema: JsonSchema;
}

export interface RouteSpec {
  /** `GET /sessions/{sessionId}`: the key of the route in the matrix. */
  key: string;
  method: string;
  /** OpenAPI path, with `{name}` parameters. */
  path: string;
  params: Parameter[];
  query: Parameter[];
  body?: JsonSchema;
  /** Whether the route asks for a bearer token (its access is not 'public'). */
  secured: boolean;
}

export async function fetchRoutes(url: string): Promise<RouteSpec[]> {
  const res = await fetch(`${url}/docs/json`);
  if (res.status !== 200) throw new Error(`GET /docs/json: ${res.status}`);
  const doc = (await res.json()) as { paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> }; security?: unknown[] }>> };
  const routes: RouteSpec[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const parameters = op.parameters ?? [];
      routes.push({
        key: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: parameters.filter((p) => p.in === 'path'),
        query: parameters.filter((p) => p.in === 'query'),
        ...(op.requestBody ? { body: op.requestBody.content['application/json']?.schema ?? {} } : {}),
        secured: (op.security?.length ?? 0) > 0,
      });
    }
  }
  return routes;
}

/** `path` with its `{name}` parameters replaced (URL-encoded). */
export function fillPath(path: string, params: Record<string, string>): string {
  return path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
    if (!(name in params)) throw new Error(`no value for path parameter ${name} of ${path}`);
    return encodeURIComponent(params[name]!);
  });
}

/** `?a=1&b=2&b=3` from a record (arrays repeat the name); '' when empty. */
export function queryString(query: Record<string, string | string[]>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) for (const one of Array.isArray(v) ? v : [v]) q.append(k, one);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * One value that satisfies `schema` (required properties only): the shape a
 * valid request has, from which the matrix fills its bodies and the fuzz test
 * breaks one field at a time. `uuid` is used for every uuid.
 */
export function sampleOf(schema: JsonSchema, uuid: string, now = new Date()): unknown {
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return schema.enum[0];
  const alt = schema.anyOf ?? schema.oneOf;
  if (alt) return sampleOf(alt.find((s) => s.type !== 'null') ?? alt[0]!, uuid, now);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  switch (type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const props = schema.properties ?? {};
      const names = schema.required?.length ? schema.required : Object.keys(props).slice(0, schema.minProperties ?? 0);
      for (const name of names) out[name] = sampleOf(props[name] ?? {}, uuid, now);
      return out;
    }
    case 'array':
      return Array.from({ length: schema.minItems ?? 0 }, () => sampleOf(schema.items ?? {}, uuid, now));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return false;
    case 'string':
      if (schema.format === 'uuid' || /\[0-9a-fA-F\]\{8\}/.test(schema.pattern ?? '')) return uuid;
      if (schema.format === 'date-time') return now.toISOString();
      if (schema.format === 'email') return 'nobody@example.com';
      if (schema.format === 'uri') return 'https://hooks.example.com/sample';
      return 'x'.repeat(Math.max(1, schema.minLength ?? 1));
    default:
      return null;
  }
}
