/**
 * The one place that knows how recording meets the rooms capability: where a
 * session's live room is found (`app.rooms.getRoom`, when rooms is
 * registered) and which room events start a defence recording or re-announce
 * the recording state to newcomers.
 */
import type { FastifyInstance } from 'fastify';
import type { RecordingRoom, RecordingService } from './service.ts';

export type RoomLookup = (sessionId: string) => RecordingRoom | undefined;

export function roomsLookup(app: FastifyInstance): RoomLookup {
  return (sessionId) => {
    const rooms = (app as unknown as { rooms?: { getRoom(id: string): unknown } }).rooms;
    return rooms?.getRoom(sessionId) as RecordingRoom | undefined;
  };
}

/** Someone entered a room: a defence starts recording (if not yet), and a running recording is announced again. */
export function watchRooms(app: FastifyInstance, service: RecordingService): () => void {
  return app.events.on('room.presence', async ({ sessionId, type }) => {
    if (type === 'join' || type === 'reconnect') await service.maybeAutoStart(sessionId);
  });
}
