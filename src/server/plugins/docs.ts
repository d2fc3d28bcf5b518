import fp from 'fastify-plugin';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';

/** OpenAPI document at /docs/json, UI at /docs. */
export const docsPlugin = fp<{ publicUrl: string }>(
  async (app, opts) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Mentor Live API',
          version: '0.1.0',
          description: 'Mentoring sessions and jury defences: scheduling, live rooms, recordings, attendance, progression.',
        },
        servers: [{ url: opts.publicUrl }],
        components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
  },
  { name: 'docs' },
);
