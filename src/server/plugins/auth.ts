import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { forbidden } from '../../shared/errors.ts';
import type { Role } from '../../auth/index.ts';

export interface AccessClaims {
  sub: string;
  role: Role;
}

declare module '@fastify/jwt' {
  interface FastifyJWT {
    payload: AccessClaims;
    user: AccessClaims;
  }
}

/** Who may call a route: 'public', or the roles allowed (ownership is checked by the service). */
export type Access = 'public' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

/**
 * JWT access tokens (HS256 only: 'none' and other algorithms are refused).
 * `enforceAccess` is an onRoute hook: every route of the API must say who may
 * call it in `config.access`, or the server refuses to start.
 */
export const authPlugin = fp<{ secret: string; accessTokenTtlSeconds: number }>(
  async (app, opts) => {
    await app.register(fastifyJwt, {
      secret: opts.secret,
      sign: { algorithm: 'HS256', expiresIn: opts.accessTokenTtlSeconds },
      verify: { algorithms: ['HS256'] },
    });
  },
  { name: 'auth' },
);

export function enforceAccess(route: RouteOptions): void {
  const access = route.config?.access;
  if (access === undefined) throw new Error(`Route ${route.method} ${route.url} does not declare config.access`);
  if (access === 'public') return;
  const guard = async (request: FastifyRequest, _reply: FastifyReply) => {
    await request.jwtVerify();
    if (!access.includes(request.user.role)) {
      throw forbidden('role_not_allowed', `This action is not available to a ${request.user.role}`);
    }
  };
  const existing = route.preHandler;
  route.preHandler = existing === undefined ? [guard] : [guard, ...(Array.isArray(existing) ? existing : [existing])];
  route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
}
