import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ROLES, viewerOf } from '../auth/index.ts';
import { assertCanViewSession } from '../sessions/index.ts';
import { SessionIdParams } from '../shared/schemas.ts';
import { NodeRoomsSchema, RoomStatusSchema } from './schemas.ts';
import type { RoomsService } from './service.ts';

/** HTTP face of rooms: is a session's room live, who is in it; and (coordinators) this node's rooms and workers. */
export function roomsRoutes(rooms: RoomsService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/rooms/:sessionId',
      {
        config: { access: ROLES },
        schema: {
          tags: ['rooms'],
          summary: "Whether a session's live room is open, where, and who is in it",
          params: SessionIdParams,
          response: { 200: RoomStatusSchema },
        },
      },
      async (request) => {
        const { sessionId } = request.params;
        await assertCanViewSession(app.db, sessionId, viewerOf(request));
        const room = rooms.getRoom(sessionId);
        const nodeId = room && !room.closed ? rooms.directory.nodeId : ((await rooms.directory.lookup(sessionId))?.nodeId ?? null);
        return {
          sessionId,
          live: nodeId !== null,
          nodeId,
          peers: room ? room.peers().map(({ userId, name, role, connected }) => ({ userId, name, role, connected })) : [],
        };
      },
    );

    app.get(
      '/rooms',
      {
        config: { access: ['coordinator'] },
        schema: {
          tags: ['rooms'],
          summary: "This server's live rooms and mediasoup workers",
          response: { 200: NodeRoomsSchema },
        },
      },
      async () => ({
        nodeId: rooms.directory.nodeId,
        workers: rooms.pool.slots().map((s) => ({ slot: s.index, pid: s.worker.pid, routers: s.routers })),
        rooms: rooms.listRooms().map((r) => ({ sessionId: r.sessionId, peers: r.peers().length, producers: r.listProducers().length })),
      }),
    );
  };
}
