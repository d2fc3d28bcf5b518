import fp from 'fastify-plugin';
import type { FastifyError, FastifyReply } from 'fastify';
import { DomainError, httpStatusOf } from '../../shared/errors.ts';

/** RFC 9457 problem details with the project's stable `code`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  code: string;
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
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string, extra: Record<string, unknown> = {}) {
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
function codeOfFastifyError(err: FastifyError): { status: number; code: string } {
  if (err.validation) return { status: 400, code: 'validation_failed' };
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'unsupported_media_type' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'malformed_body' };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'body_too_large' };
    case 'FST_JWT_NO_AUTHORIZATION_IN_HEADER':
    case 'FST_JWT_NO_AUTHORIZATION_IN_COOKIE':
      return { status: 401, code: 'token_missing' };
    case 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED':
      return { status: 401, code: 'token_expired' };
    case 'FST_JWT_AUTHORIZATION_TOKEN_INVALID':
    case 'FST_JWT_AUTHORIZATION_TOKEN_UNTRUSTED':
    case 'FST_JWT_BAD_REQUEST':
    case 'FST_JWT_BAD_COOKIE_REQUEST':
      return { status: 401, code: 'token_invalid' };
  }
  if (err instanceof SyntaxError || err.statusCode === 400) return { status: 400, code: 'malformed_body' };
  if (err.statusCode === 429) return { status: 429, code: 'rate_limited' };
  const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
  return { status, code: status === 500 ? 'internal_error' : 'request_failed' };
}

/** One error handler for the whole app: every failure leaves as problem+json. */
export const problemPlugin = fp(
  async (app) => {
    app.setErrorHandler((err: FastifyError | DomainError, request, reply) => {
      if (err instanceof DomainError) {
        const status = httpStatusOf[err.kind];
        return sendProblem(reply, status, err.code, err.message, err.details ? { details: err.details } : {});
      }
      const { status, code } = codeOfFastifyError(err);
      if (status >= 500) request.log.error({ err }, 'request failed');
      const detail = status >= 500 ? 'The server could not complete the request.' : err.message;
      return sendProblem(reply, status, code, detail, err.validation ? { errors: err.validation } : {});
    });
    app.setNotFoundHandler((request, reply) => sendProblem(reply, 404, 'route_not_found', `No route ${request.method} ${request.url.split('?')[0]}`));
  },
  { name: 'problem' },
);
