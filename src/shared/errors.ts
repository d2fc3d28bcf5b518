/**
 * The one error type of the domain. A `code` is stable and machine-readable
 * (clients switch on it); `kind` says what went wrong in transport-neutral
 * terms. The HTTP and Socket.IO edges map `kind` to a status or an ack; the
 * domain never speaks HTTP.
 */
export type ErrorKind =
  | 'invalid' // the request is malformed
  | 'unauthenticated' // no valid identity
  | 'forbidden' // identity known, not allowed
  | 'not_found'
  | 'conflict' // clashes with current state (double booking, already done)
  | 'unprocessable' // well-formed but violates a business rule
  | 'rate_limited'
  | 'unavailable'; // a dependency is down

export class DomainError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Record<string, unknown> | undefined;

  constructor(kind: ErrorKind, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'DomainError';
    this.kind = kind;
    this.code = code;
    this.details = details;
  }
}

export const invalid = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('invalid', code, message, details);
export const forbidden = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('forbidden', code, message, details);
export const notFound = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('not_found', code, message, details);
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('conflict', code, message, details);
export const unprocessable = (code: string, message: string, details?: Record<string, unknown>) =>
  new DomainError('unprocessable', code, message, details);
export const unauthenticated = (code: string, message: string) =>
  new DomainError('unauthenticated', code, message);

export const httpStatusOf: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};
