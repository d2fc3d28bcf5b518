import fp from 'fastify-plugin';
import { schoolRoutes } from './routes.ts';

/**
 * The school: paths, enrollments, students and notification preferences. It
 * holds no live state, so it decorates nothing: other capabilities read it
 * through the functions its index.ts exports (they take the store or the
 * caller's transaction). The routes keep their own scope (the unsubscribe
 * form's content-type parser stays theirs).
 */
export const schoolPlugin = fp(
  async (app) => {
    await app.register(schoolRoutes);
  },
  { name: 'school', dependencies: ['auth'] },
);
