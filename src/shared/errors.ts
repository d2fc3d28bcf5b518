import { ERROR_CATALOGUE } from './error-catalogue.ts';

export { ERROR_CATALOGUE } from './error-catalogue.ts';

/**
 * The one error type of the domain. A `code` is stable and machine-readable
 * (clients switch on it); `kind` says what went wrong in transport-neutral
 * terms. The HTTP and Socket.IO edges map `kind` to a status or an ack; the
 * domain never speaks HTTP. Every code is in ERROR_CATALOGUE with exactly one
 * kind, so a code always leaves with the same status.
 */
export type ErrorKind =
  | 'invalid' // the request is malformed
  | 'unauthenticated' // no valid identity
  | 'forbidden' // identity known, not allowed
  | 'not_found'
  | 'conflict' // clashes with current state (double booking, already done)
  | 'too_large' // the body is larger than accepted (HTTP layer)
  | 'headers_too_large' // the request headers are larger than accepted (HTTP parser)
  | 'timeout' // the client did not send its request in time (HTTP parser)
  | 'unsupported' // a content type the route does not take (HTTP layer)
  | 'unsatisfiable' // a byte range outside the file
  | 'unprocessable' // well-formed but violates a business rule
  | 'rate_limited'
  | 'internal' // a bug or an unexpected failure
  | 'unavailable'; // a dependency is down, or the server is shutting down

/** Every stable error code (a closed union: the catalogue's keys). */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** The codes of one kind: the conflict helper takes slot_taken, and refuses session_not_found (a not_found code) at compile time. */
export type CodeOf<K extends ErrorKind> = { [C in ErrorCode]: (typeof ERROR_CATALOGUE)[C]['kind'] extends K ? C : never }[ErrorCode];

export class DomainError<K extends ErrorKind = ErrorKind> extends Error {
  readonly code: ErrorCode;
  readonly kind: K;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: K, code: CodeOf<K>, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export const invalid = (code: CodeOf<'invalid'>, message: string, details?: Record<string, unknown>) => new DomainError('invalid', code, message, details);
export const forbidden = (code: CodeOf<'forbidden'>, message: string, details?: Record<string, unknown>) => new DomainError('forbidden', code, message, details);
export const notFound = (code: CodeOf<'not_found'>, message: string, details?: Record<string, unknown>) => new DomainError('not_found', code, message, details);
export const conflict = (code: CodeOf<'conflict'>, message: string, details?: Record<string, unknown>) => new DomainError('conflict', code, message, details);
export const unprocessable = (code: CodeOf<'unprocessable'>, message: string, details?: Record<string, unknown>) =>
  new DomainError('unprocessable', code, message, details);
export const unauthenticated = (code: CodeOf<'unauthenticated'>, message: string) => new DomainError('unauthenticated', code, message);
export const unavailable = (code: CodeOf<'unavailable'>, message: string, details?: Record<string, unknown>) => new DomainError('unavailable', code, message, details);

export const httpStatusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  headers_too_large: 431,
  timeout: 408,
  unsupported: 415,
  unsatisfiable: 416,
  unprocessable: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
};

/** The one HTTP status of a code. */
export const statusOf = (code: ErrorCode): number => httpStatusOf[ERROR_CATALOGUE[code].kind];
