import type { FastifyPluginAsync } from 'fastify';

/** Routes, socket handlers and jobs of this capability (registered inside the API scope). */
export const codereviewPlugin: FastifyPluginAsync = async (_app) => {};
