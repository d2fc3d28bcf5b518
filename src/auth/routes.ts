import { Type, type Static } from 'typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authenticate, issueRefreshToken, revokeRefreshToken, rotateRefreshToken, toPublicUser, type UserRow } from './service.ts';
import { PublicUserSchema } from '../shared/schemas.ts';

const TokensSchema = Type.Object({
  accessToken: Type.String(),
  tokenType: Type.Literal('Bearer'),
  expiresIn: Type.Integer({ description: 'Seconds until the access token expires' }),
  refreshToken: Type.String(),
  refreshExpiresAt: Type.String({ format: 'date-time' }),
  user: PublicUserSchema,
});
type Tokens = Static<typeof TokensSchema>;

export const authRoutes: FastifyPluginAsyncTypebox<{ loginRateLimitPerMinute: number }> = async (app, opts) => {
  const { db, config } = app;

  async function tokensFor(user: UserRow, refresh: { token: string; expiresAt: Date }): Promise<Tokens> {
    return {
      accessToken: await app.jwt.sign({ sub: user.id, role: user.role }),
      tokenType: 'Bearer',
      expiresIn: config.accessTokenTtlSeconds,
      refreshToken: refresh.token,
      refreshExpiresAt: refresh.expiresAt.toISOString(),
      user: toPublicUser(user),
    };
  }

  app.post(
    '/auth/login',
    {
      config: { access: 'public', rateLimit: { max: opts.loginRateLimitPerMinute, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        summary: 'Log in with e-mail and password',
        body: Type.Object({ email: Type.String({ format: 'email', maxLength: 254 }), password: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: TokensSchema },
      },
    },
    async (request) => {
      const user = await authenticate(db, request.body.email, request.body.password);
      return tokensFor(user, await issueRefreshToken(db, user.id, config.refreshTokenTtlDays));
    },
  );

  app.post(
    '/auth/refresh',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for new tokens (the old refresh token is revoked)',
        body: Type.Object({ refreshToken: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 200: TokensSchema },
      },
    },
    async (request) => {
      const { user, refresh } = await rotateRefreshToken(db, request.body.refreshToken, config.refreshTokenTtlDays);
      return tokensFor(user, refresh);
    },
  );

  app.post(
    '/auth/logout',
    {
      config: { access: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'Revoke a refresh token',
        body: Type.Object({ refreshToken: Type.String({ minLength: 10, maxLength: 200 }) }, { additionalProperties: false }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await revokeRefreshToken(db, request.body.refreshToken);
      return reply.code(204).send(null);
    },
  );
};
