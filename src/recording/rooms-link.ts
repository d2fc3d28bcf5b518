/**
 * The one place that knows how recording meets the rooms capability: where a
 * session's live room is found (`app.rooms.getRoom`: rooms is a declared
 * dependency of recording) and which room events start a defence recording or re-announce
 * the recording state to newcomers.
 */
import type { FastifyInstance } from 'fastify';
import type { RecordingRoom, RecordingService } from './service.ts';

export type RoomLookup = (sessionId: string) => RecordingRoom | undefined;

export function roomsLookup(app: FastifyInstance): RoomLookup {
  return (sessionId) => {
    // Recording declares rooms as a dependency: app.rooms is there (typed by the rooms plugin).
    return app.rooms.getRoom(sessionId);
  };
}

/**
 * Someone entered a room: a defence starts recording (if not yet), and a
 * running recording is announced again. A participant's media lost and back
 * (or their leaving) is the evidence of the holes their network leaves.
 */
export function watchRooms(app: FastifyInstance, service: RecordingService): () => void {
  return app.events.on('room.presence', async ({ sessionId, userId, type, at }) => {
    if (type === 'join' || type === 'reconnect') await service.maybeAutoStart(sessionId);
    if (type === 'media_lost' || type === 'media_flowing' || type === 'media_idle' || type === 'leave') await service.noteMedia(sessionId, userId, type, at);
  });
}
