import type { FastifyRequest } from 'fastify';
import type { Role } from './service.ts';

/** Who is asking: the one name every capability uses for the caller of a route or a socket event. */
export interface Viewer {
  userId: string;
  role: Role;
}

/** The viewer of an authenticated request (its verified access token). */
export function viewerOf(request: Pick<FastifyRequest, 'user'>): Viewer {
  return { userId: request.user.sub, role: request.user.role };
}
