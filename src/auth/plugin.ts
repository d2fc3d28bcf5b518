import fp from 'fastify-plugin';
import { authRoutes } from './routes.ts';

/**
 * Accounts: login, refresh, logout and password routes. A capability that
 * needs the JWT plugin ('auth', src/server/plugins/auth.ts) registered first;
 * the routes stay in their own scope (registered inside).
 */
export const accountsPlugin = fp(
  async (app) => {
    await app.register(authRoutes);
  },
  { name: 'accounts', dependencies: ['auth'] },
);
