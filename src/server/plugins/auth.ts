import fp from 'fastify-plugin';
import fastifyJwt from '@fastify/jwt';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { forbidden, unauthenticated } from '../../shared/errors.ts';
import { rateLimited } from '../../shared/rate-limit.ts';
import type { Role } from '../../auth/index.ts';
import { UserStates } from '../../auth/user-state.ts';

export interface AccessClaims {
  sub: string;
  role: Role;
  /** The user's token version when issued (users.token_version); absent counts as 0. */
  ver?: number;
  exp?: number;
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
    /** An expensive route (slot search, exports, archives): counted per user in Redis (EXPENSIVE_RATE_LIMIT_PER_MINUTE). */
    expensive?: true;
  }
  interface FastifyInstance {
    /** Token versions, roles and disabled flags from the store (cached briefly in Redis). */
    userStates: UserStates;
  }
}

/**
 * The token's claims against the store: the account exists, is not disabled and
 * the token's version is the current one (logout, a password or role change and
 * disabling bump it). Returns the user's role as the store says.
 */
export async function currentRole(states: UserStates, claims: AccessClaims): Promise<Role> {
  const state = await states.get(claims.sub);
  if (!state || state.disabled || state.version !== (claims.ver ?? 0)) throw unauthenticated('token_revoked', 'The access token was revoked; log in again');
  return state.role;
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
      // A token without an expiry would be valid for ever: refused.
      verify: { algorithms: ['HS256'], requiredClaims: ['exp', 'sub'] },
    });
    app.decorate('userStates', new UserStates(app.db, app.redis, app.config.redisPrefix));
  },
  { name: 'auth' },
);

/**
 * Every failure of a presented token is one of three 401s. fast-jwt reports some malformed tokens
 * (alg "none", foreign algorithms, broken segments) with codes and statuses of its own (400, 500);
 * none of those may reach the client as anything but "this token is not valid".
 */
async function verifyAccessToken(request: FastifyRequest): Promise<void> {
  try {
    await request.jwtVerify();
  } catch (err) {
    const code = String((err as { code?: string }).code ?? '');
    if (code === 'FST_JWT_NO_AUTHORIZATION_IN_HEADER') throw unauthenticated('token_missing', 'No access token was sent');
    if (code === 'FST_JWT_AUTHORIZATION_TOKEN_EXPIRED') throw unauthenticated('token_expired', 'The access token has expired');
    throw unauthenticated('token_invalid', 'The access token is invalid');
  }
}

export function enforceAccess(route: RouteOptions): void {
  const access = route.config?.access;
  if (access === undefined) throw new Error(`Route ${route.method} ${route.url} does not declare config.access`);
  if (access === 'public') return;
  const guard = async (request: FastifyRequest, _reply: FastifyReply) => {
    await verifyAccessToken(request);
    // Identity and role from the store, not from the claim alone.
    request.user = { ...request.user, role: await currentRole(request.server.userStates, request.user) };
    if (!access.includes(request.user.role)) {
      throw forbidden('role_not_allowed', `This action is not available to a ${request.user.role}`);
    }
    // One bucket per user over every expensive route, shared by the nodes (Redis):
    // a user cannot hold the event loops with many searches or exports at once.
    if (route.config?.expensive) {
      const { count, retryAfterMs } = await request.server.limiter.hit(`expensive:${request.user.sub}`, 60_000);
      if (count > request.server.config.expensiveRateLimitPerMinute) {
        throw rateLimited('expensive_rate_limited', 'Too many searches, exports or downloads; retry after `Retry-After` seconds', retryAfterMs);
      }
    }
  };
  const existing = route.preHandler;
  route.preHandler = existing === undefined ? [guard] : [guard, ...(Array.isArray(existing) ? existing : [existing])];
  route.schema = { ...route.schema, security: [{ bearerAuth: [] }] };
}
