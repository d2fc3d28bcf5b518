import { Type, type Static } from 'typebox';
import type { ConnectionQuality, RoomCloseReason } from '../events/index.ts';
export type { RoomCloseReason } from '../events/index.ts';
import type { IceServer } from './config.ts';

/**
 * The live-room protocol in one place: what clients send on the `/rooms`
 * namespace (TypeBox schemas, checked at run time by `onRequest`) and what the
 * server pushes. Every client request is acknowledged with `{ data }` or
 * `{ error: { code, message } }`.
 */
export const SourceSchema = Type.Union([Type.Literal('mic'), Type.Literal('webcam'), Type.Literal('screen')]);
export type Source = Static<typeof SourceSchema>;

const Id = Type.String({ minLength: 1, maxLength: 64 });
/** mediasoup validates the inside of these objects; we check their outer shape. */
const Loose = Type.Object({}, { additionalProperties: true });

export const ClientRequests = {
  join: Type.Object({ sessionId: Type.String({ minLength: 1, maxLength: 64 }) }),
  createTransport: Type.Object({ direction: Type.Union([Type.Literal('send'), Type.Literal('recv')]) }),
  connectTransport: Type.Object({
    transportId: Id,
    dtlsParameters: Type.Object(
      {
        role: Type.Optional(Type.Union([Type.Literal('auto'), Type.Literal('client'), Type.Literal('server')])),
        fingerprints: Type.Array(Type.Object({ algorithm: Type.String(), value: Type.String() }), { minItems: 1, maxItems: 8 }),
      },
      { additionalProperties: true },
    ),
  }),
  produce: Type.Object({
    transportId: Id,
    kind: Type.Union([Type.Literal('audio'), Type.Literal('video')]),
    rtpParameters: Type.Object({ codecs: Type.Array(Loose, { minItems: 1, maxItems: 16 }) }, { additionalProperties: true }),
    appData: Type.Object({ source: SourceSchema }, { additionalProperties: true }),
  }),
  consume: Type.Object({
    transportId: Id,
    producerId: Id,
    rtpCapabilities: Type.Object({ codecs: Type.Optional(Type.Array(Loose, { maxItems: 64 })) }, { additionalProperties: true }),
  }),
  resumeConsumer: Type.Object({ consumerId: Id }),
  pauseConsumer: Type.Object({ consumerId: Id }),
  pauseProducer: Type.Object({ producerId: Id }),
  resumeProducer: Type.Object({ producerId: Id }),
  closeProducer: Type.Object({ producerId: Id }),
  setPreferredLayers: Type.Object({
    consumerId: Id,
    spatialLayer: Type.Integer({ minimum: 0, maximum: 3 }),
    temporalLayer: Type.Optional(Type.Integer({ minimum: 0, maximum: 3 })),
  }),
  restartIce: Type.Object({ transportId: Id }),
  getTransportStats: Type.Object({ transportId: Id }),
  /** Addition to the contract: drop a transport the client no longer uses. */
  closeTransport: Type.Object({ transportId: Id }),
  leave: Type.Object({}),
} as const;

export interface ProducerInfo {
  producerId: string;
  kind: 'audio' | 'video';
  source: Source;
  paused: boolean;
}

export interface PeerInfo {
  peerId: string;
  userId: string;
  name: string;
  role: string;
  producers: ProducerInfo[];
  /** Addition: false while the peer's socket is gone (within the reconnection grace). */
  connected: boolean;
  /** Addition: the peer's connection quality now (see `connectionQuality`). */
  quality: ConnectionQuality;
}

export interface JoinResult {
  sessionId: string;
  peerId: string;
  userId: string;
  role: string;
  routerRtpCapabilities: unknown;
  peers: PeerInfo[];
  /** STUN/TURN servers for the client's transports; a TURN entry carries credentials that expire (TURN REST API). */
  iceServers: IceServer[];
  /** 'relay': the client must send media through TURN only. */
  iceTransportPolicy: 'all' | 'relay';
  /** Addition: true when the user got back an existing peer (reconnect, second tab, rejoin). */
  resumed: boolean;
  /** Addition: true while the room has this user isolated. */
  isolated: boolean;
}

/** Why a peer must join again (it keeps its place): the media worker was replaced, or its peer expired. */
export type RejoinReason = 'worker_died' | 'peer_expired';

/** What the server pushes to sockets of the `/rooms` namespace. */
export interface ServerEvents {
  peerJoined: { peer: PeerInfo };
  peerLeft: { peerId: string; userId: string };
  newProducer: { peerId: string; userId: string; producerId: string; kind: 'audio' | 'video'; source: Source };
  producerClosed: { producerId: string; peerId: string };
  producerPaused: { producerId: string; peerId: string };
  producerResumed: { producerId: string; peerId: string };
  consumerClosed: { consumerId: string; producerId: string };
  activeSpeaker: { userId: string | null };
  /** For this socket only: `joined_elsewhere` (another socket of the same user took its place), `removed` (a coordinator removed the person). */
  roomClosing: { reason: RoomCloseReason | 'joined_elsewhere' | 'removed' };
  rejoinRequired: { reason: RejoinReason };
  isolationChanged: { userId: string; isolated: boolean; reason: string };
  /** Addition: a peer's socket dropped (it keeps its place during the reconnection grace) or came back. */
  peerConnection: { peerId: string; userId: string; connected: boolean };
  /** Addition: a peer's connection quality changed (from its media's packets, loss, round trip and mediasoup's scores). */
  connectionQuality: { peerId: string; userId: string; level: ConnectionQuality };
}
