import fp from 'fastify-plugin';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, invalid, statusOf, type ErrorCode } from '../../shared/errors.ts';
import { hasNul } from '../../shared/text.ts';

/** RFC 9457 problem details with the project's stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  instance?: string;
  errors?: unknown[];
  [extra: string]: unknown;
}

const titles: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Sends `code` as problem+json with its one status (ERROR_CATALOGUE). */
export function sendProblem(reply: FastifyReply, code: ErrorCode, detail: string, extra: Record<string, unknown> = {}) {
  const status = statusOf(code);
  const body: Problem = {
    type: `about:blank#${code}`,
    title: titles[status] ?? 'Error',
    status,
    code,
    detail,
    instance: reply.request.url,
    ...extra,
  };
  return reply.code(status).type('application/problem+json; charset=utf-8').send(body);
}

/** Fastify's own errors (validation, body parsing, JWT, rate limit) mapped to stable codes. */
function codeOfFastifyError(err: FastifyError): ErrorCode {
  if (err.validation) return 'validation_failed';
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return 'malformed_body';
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'FST_JWT_NO_AUTHORIZATION_IN_HEADER':
    case 'FST_JWT_NO_AUTHORIZATION_IN_COOKIE':
      return 'token_missing';
    case 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED':
      return 'token_expired';
    case 'FST_JWT_AUTHORIZATION_TOKEN_INVALID':
    case 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED':
    case 'FST_JWT_BAD_REQUEST':
    case 'FST_JWT_BAD_COOKIE_REQUEST':
      return 'token_invalid';
  }
  if (err instanceof SyntaxError || err.statusCode === 400) return 'malformed_body';
  if (err.statusCode === 429) return 'rate_limited';
  // Any other client error of the HTTP layer is one code with one status (400), not Fastify's varied ones.
  if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return 'request_failed';
  return 'internal_error';
}

/** One error handler for the whole app: every failure leaves as problem+json. */
export const problemPlugin = fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError | DomainError, request, reply) => {
      if (err instanceof DomainError) {
        const retryAfter = err.details?.retryAfterSeconds;
        if (err.kind === 'rate_limited' && typeof retryAfter === 'number') void reply.header('retry-after', String(retryAfter));
        return sendProblem(reply, err.code, err.message, err.details ? { details: err.details } : {});
      }
      const code = codeOfFastifyError(err);
      const internal = code === 'internal_error';
      if (internal) request.log.error({ err }, 'request failed');
      // A client's mistake is one line at warn, never a stack.
      else request.log.warn({ code, reason: err.message }, 'request refused');
      const detail = internal ? 'The server could not complete the request.' : err.message;
      return sendProblem(reply, code, detail, err.validation ? { errors: err.validation } : {});
    });
    // No text field may carry a NUL character (PostgreSQL refuses it in text, and no person types one):
    // refused here, for every route, before validation and long before the store.
    app.addHook('preValidation', async (request) => {
      if (hasNul(request.params) || hasNul(request.query) || hasNul(request.body)) throw invalid('nul_character', 'Text must not contain NUL characters');
    });
    app.setNotFoundHandler((request, reply) => sendProblem(reply, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`));
  },
  { name: 'problem' },
);

function codeOfFrameworkError(code: string): ErrorCode {
  if (code === 'FST_ERR_BAD_URL') return 'bad_url';
  if (code === 'FST_ERR_MAX_PARAM_LENGTH') return 'parameter_too_long';
  return 'request_failed';
}

function codeOfClientError(code: string | undefined): ErrorCode {
  if (code === 'HPE_HEADER_OVERFLOW') return 'headers_too_large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 'request_timeout';
  return 'malformed_request';
}

/**
 * Fastify's errors raised before routing (a URL that does not decode, a path
 * parameter longer than `maxParamLength`): the `frameworkErrors` option of
 * Fastify, so they leave as problem+json like every other error.
 */
export function frameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const code = codeOfFrameworkError(err.code);
  request.log.warn({ code, reason: err.message }, 'request refused');
  void sendProblem(reply, code, err.message);
}

/**
 * Errors of the HTTP parser, before Fastify has a request (headers too large,
 * a malformed request line): answered on the socket as problem+json, one warn line.
 */
export function clientErrorHandler(this: FastifyInstance, err: NodeJS.ErrnoException & { rawPacket?: unknown }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code = codeOfClientError(err.code);
  const status = statusOf(code);
  const body = JSON.stringify({ type: `about:blank#${code}`, title: titles[status] ?? 'Error', status, code, detail: err.code === 'HPE_HEADER_OVERFLOW' ? 'The request headers are larger than the server accepts' : 'The request could not be parsed' });
  this.log.warn({ code, reason: err.code }, 'request refused');
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${titles[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: application/problem+json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  } else socket.destroy(err);
}
