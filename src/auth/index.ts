export type { Role, Locale, UserRow, PublicUser } from './service.ts';
export { ROLES, toPublicUser, authenticate } from './service.ts';
export { hashPassword, verifyPassword } from './passwords.ts';
export { authRoutes } from './routes.ts';
