/**
 * Live rooms (mediasoup SFU behind the `/rooms` Socket.IO namespace).
 * Other capabilities use `app.rooms` (a RoomsService): `getRoom(sessionId)`
 * gives the Room with its router, producers, observer, `notify` and
 * `setIsolated`. The protocol is in messages.ts.
 */
export { roomsPlugin } from './plugin.ts';
export { RoomsService } from './service.ts';
export { sessionChannel } from '../shared/socket.ts';
export { Room, type RoomCloseReason, type RoomObserverEvents, type RoomProducer } from './room.ts';
export type { JoinResult, PeerInfo, ProducerInfo, ServerEvents, Source } from './messages.ts';
export { ClientRequests } from './messages.ts';
export { mediaCodecs } from './codecs.ts';
export { WorkerPool } from './workers.ts';
export { RoomDirectory } from './directory.ts';
