import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import fp from 'fastify-plugin';

/** Where `npm run build:web` puts the bundled client. */
export const webDistDir = fileURLToPath(new URL('./dist/', import.meta.url));

/**
 * Serves the browser client (the bundle built by scripts/build-web.mjs) at `/`.
 * Registered outside the API scope: these are public static files; the client
 * then calls the API with its bearer token. When the bundle was not built,
 * `/` says how to build it instead of failing the server.
 */
const web: FastifyPluginAsync = async (app) => {
  if (!existsSync(join(webDistDir, 'index.html'))) {
    app.log.warn({ dir: webDistDir }, 'web client not built: run `npm run build:web`');
    app.get('/', { schema: { hide: true } }, async (_request, reply) =>
      reply.code(503).type('text/plain; charset=utf-8').send('The web client is not built. Run `npm run build:web` and restart the server.\n'),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: webDistDir,
    prefix: '/',
    index: ['index.html'],
    // The bundle keeps its name across builds: let browsers revalidate.
    cacheControl: true,
    // Source maps expose the client's sources: served in development only.
    allowedPath: (pathName: string) => app.config.nodeEnv === 'development' || !pathName.endsWith('.map'),
    maxAge: 0,
    setHeaders(reply, path) {
      if (path.endsWith('.html')) reply.header('cache-control', 'no-cache');
    },
  });
};

/** The web client (fastify-plugin 'web'); @fastify/static and its decorators stay in the inner scope. */
export const webPlugin = fp(
  async (app) => {
    await app.register(web);
  },
  { name: 'web', dependencies: [] },
);
