export type { Role, Locale, UserRow, PublicUser } from './service.ts';
export { ROLES, toPublicUser, authenticate } from './service.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { authRoutes } from './routes.ts';
/** The capability as registered by the server (fastify-plugin 'accounts', depends on 'auth'). */
export { accountsPlugin } from './plugin.ts';
export { viewerOf, type Viewer } from './viewer.ts';
