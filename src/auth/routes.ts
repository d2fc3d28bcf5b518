import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticate, issueRefreshToken, passwordHashOf, revokeAllRefreshTokens, revokeRefreshToken, rotateRefreshToken, ROLES, toPublicUser, type RotationGrace, type UserRow } from './service.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { forbidden, notFound, unauthenticated } from '../shared/errors.ts';
import { UserIdParams } from '../shared/schemas.ts';
import { LoginLimits } from './login-limits.ts';
import { LoginBodySchema, NoContentSchema, PasswordBodySchema, RefreshBodySchema, TokensSchema, UserChangeBodySchema, UserStateSchema, type Tokens } from './schemas.ts';

/** The successor of a rotated refresh token, for the grace of parallel refreshes (REFRESH_GRACE_SECONDS), kept in Redis. */
function refreshGrace(app: FastifyInstance): RotationGrace {
  const { config } = app;
  const graceKey = (oldHash: string) => `${config.redisPrefix}:refresh-grace:${oldHash}`;
  return {
    seconds: config.refreshGraceSeconds,
    remember: async (oldHash, successor) => {
      await app.redis.set(graceKey(oldHash), JSON.stringify(successor), 'EX', Math.max(1, config.refreshGraceSeconds));
    },
    recall: async (oldHash) => {
      const raw = await app.redis.get(graceKey(oldHash));
      if (!raw) return undefined;
      const v = JSON.parse(raw) as { token: string; expiresAt: string };
      return { token: v.token, expiresAt: new Date(v.expiresAt) };
    },
  };
}

/** The store's state of a user who is about to get tokens: a disabled account gets none. */
async function assertEnabled(app: FastifyInstance, userId: string) {
  const state = await app.userStates.get(userId);
  if (!state || state.disabled) throw forbidden('account_disabled', 'This account is disabled');
  return state;
}

async function tokensFor(app: FastifyInstance, user: UserRow, refresh: { token: string; expiresAt: Date }): Promise<Tokens> {
  const state = await app.userStates.get(user.id);
  return {
    accessToken: await app.jwt.sign({ sub: user.id, role: user.role, ver: state?.version ?? 0 }),
    tokenType: 'Bearer',
    expiresIn: app.config.accessTokenTtlSeconds,
    refreshToken: refresh.token,
    refreshExpiresAt: refresh.expiresAt.toISOString(),
    user: toPublicUser(user),
  };
}

/**
 * Logging in and out, tokens, passwords and accounts: one small plugin per
 * resource, registered in this order (the OpenAPI document lists paths in
 * registration order).
 */
export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(tokenRoutes);
  await app.register(passwordRoutes);
  await app.register(accountRoutes);
};

/** Login, refresh and logout. */
const tokenRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db, config } = app;
  const loginLimits = new LoginLimits(app.limiter, config);
  const grace = refreshGrace(app);

  app.post(
    '/auth/login',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Log in with e-mail and password',
        body: LoginBodySchema,
        response: { 200: TokensSchema },
      },
    },
    async (request) => {
      const { email, password } = request.body;
      await loginLimits.beforeAttempt(request.ip, email);
      const user = await authenticate(db, email, password).catch(async (err: unknown) => {
        await loginLimits.failed(email);
        throw err;
      });
      await assertEnabled(app, user.id);
      return tokensFor(app, user, await issueRefreshToken(db, user.id, config.refreshTokenTtlDays));
    },
  );

  app.post(
    '/auth/refresh',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for new tokens (the old refresh token is revoked)',
        body: RefreshBodySchema,
        response: { 200: TokensSchema },
      },
    },
    async (request) => {
      const { user, refresh } = await rotateRefreshToken(db, request.body.refreshToken, config.refreshTokenTtlDays, grace);
      await assertEnabled(app, user.id);
      return tokensFor(app, user, refresh);
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Log out: revoke the refresh token and every access token of its user',
        description: 'The user\'s token version goes up: every access token issued before stops working at once (on every device; the others refresh).',
        body: RefreshBodySchema,
        response: { 204: NoContentSchema },
      },
    },
    async (request, reply) => {
      const userId = await revokeRefreshToken(db, request.body.refreshToken);
      if (userId) await app.userStates.bump(db, userId);
      return reply.code(204).send(null);
    },
  );
};

/** Changing one's password. */
const passwordRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;

  app.post(
    '/me/password',
    {
      config: { access: ROLES },
      schema: {
        tags: ['auth'],
        summary: 'Change your password: every token of yours (access and refresh) is revoked',
        body: PasswordBodySchema,
        response: { 204: NoContentSchema },
      },
    },
    async (request, reply) => {
      const userId = request.user.sub;
      const hash = await passwordHashOf(db, userId);
      if (!hash || !(await verifyPassword(request.body.currentPassword, hash))) throw unauthenticated('invalid_credentials', 'The current password is wrong');
      const newHash = await hashPassword(request.body.newPassword);
      await db.tx(async (q) => {
        await q.execute('UPDATE users SET password_hash = $2 WHERE id = $1', [userId, newHash]);
        await revokeAllRefreshTokens(q, userId);
        await app.userStates.bump(q, userId);
      });
      await app.userStates.forget(userId);
      return reply.code(204).send(null);
    },
  );
};

/** A coordinator's changes to an account: role, disabled. */
const accountRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { db } = app;

  app.patch(
    '/users/:userId',
    {
      config: { access: ['coordinator'] },
      schema: {
        tags: ['auth'],
        summary: "Change a user's role or disable/enable the account (coordinators); the user's tokens are revoked at once",
        params: UserIdParams,
        body: UserChangeBodySchema,
        response: { 200: UserStateSchema },
      },
    },
    async (request) => {
      const { userId } = request.params;
      const { role, disabled } = request.body;
      const user = await db.tx(async (q) => {
        const row = await q.one<UserRow>(
          `UPDATE users SET role = COALESCE($2, role),
                  disabled_at = CASE WHEN $3::boolean IS NULL THEN disabled_at WHEN $3::boolean THEN COALESCE(disabled_at, now()) ELSE NULL END
            WHERE id = $1 RETURNING id, email, name, role, time_zone, locale`,
          [userId, role ?? null, disabled ?? null],
        );
        if (!row) throw notFound('user_not_found', 'No such user');
        if (disabled) await revokeAllRefreshTokens(q, userId);
        await app.userStates.bump(q, userId);
        return row;
      });
      await app.userStates.forget(userId);
      const state = await app.userStates.get(userId);
      return { user: toPublicUser(user), disabled: state?.disabled ?? false };
    },
  );
};
