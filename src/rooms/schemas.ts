import { Type, type Static } from 'typebox';
import { Uuid } from '../shared/schemas.ts';

/** Answer schemas of rooms' HTTP routes (routes.ts); the socket messages' schemas are in messages.ts. */

export const RoomPeerSchema = Type.Object({ userId: Uuid, name: Type.String(), role: Type.String(), connected: Type.Boolean() });
export const RoomStatusSchema = Type.Object({
  sessionId: Uuid,
  /** A live room exists (on this server or another one). */
  live: Type.Boolean(),
  /** The server process hosting it (room → node directory). */
  nodeId: Type.Union([Type.String(), Type.Null()]),
  /** Peers, when the room lives in this process. */
  peers: Type.Array(RoomPeerSchema),
});
export type RoomStatusJson = Static<typeof RoomStatusSchema>;
export const NodeRoomsSchema = Type.Object({
  nodeId: Type.String(),
  workers: Type.Array(Type.Object({ slot: Type.Integer(), pid: Type.Integer(), routers: Type.Integer() })),
  rooms: Type.Array(Type.Object({ sessionId: Uuid, peers: Type.Integer(), producers: Type.Integer() })),
});
export type NodeRoomsJson = Static<typeof NodeRoomsSchema>;
