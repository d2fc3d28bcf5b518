import type { FastifyBaseLogger } from 'fastify';
import type { Namespace, Socket } from 'socket.io';
import type { types } from 'mediasoup';
import type { Static } from 'typebox';
import { identityOf, onRequest } from '../shared/socket.ts';
import { ClientRequests as R } from './messages.ts';
import type { RoomsService } from './service.ts';

/**
 * The `/rooms` namespace: one thin handler per client request (validated by
 * `onRequest`, acked with `{ data }` or `{ error }`), each resolving the
 * caller's room and peer and calling one Room method.
 */
export function attachSignalling(nsp: Namespace, rooms: RoomsService, logger: FastifyBaseLogger): void {
  nsp.on('connection', (socket: Socket) => {
    const identity = identityOf(socket);
    if (socket.recovered) rooms.socketRecovered(socket);
    const on = <K extends keyof typeof R>(event: K, handler: (payload: Static<(typeof R)[K]>) => unknown) =>
      onRequest(socket, event, R[event], handler, logger);
    const peer = () => rooms.requirePeer(socket);

    on('join', ({ sessionId }) => rooms.join(socket, identity, sessionId));
    on('createTransport', ({ direction }) => {
      const { room, peer: p } = peer();
      return room.createTransport(p, direction);
    });
    on('connectTransport', ({ transportId, dtlsParameters }) => {
      const { room, peer: p } = peer();
      return room.connectTransport(p, transportId, dtlsParameters as types.DtlsParameters);
    });
    on('produce', ({ transportId, kind, rtpParameters, appData }) => {
      const { room, peer: p } = peer();
      return room.produce(p, { transportId, kind, rtpParameters: rtpParameters as unknown as types.RtpParameters, source: appData.source });
    });
    on('consume', ({ transportId, producerId, rtpCapabilities }) => {
      const { room, peer: p } = peer();
      return room.consume(p, { transportId, producerId, rtpCapabilities: rtpCapabilities as types.RtpCapabilities });
    });
    on('resumeConsumer', ({ consumerId }) => {
      const { room, peer: p } = peer();
      return room.resumeConsumer(p, consumerId);
    });
    on('pauseConsumer', ({ consumerId }) => {
      const { room, peer: p } = peer();
      return room.pauseConsumer(p, consumerId);
    });
    on('pauseProducer', ({ producerId }) => {
      const { room, peer: p } = peer();
      return room.pauseProducer(p, producerId);
    });
    on('resumeProducer', ({ producerId }) => {
      const { room, peer: p } = peer();
      return room.resumeProducer(p, producerId);
    });
    on('closeProducer', ({ producerId }) => {
      const { room, peer: p } = peer();
      return room.closeProducer(p, producerId);
    });
    on('setPreferredLayers', ({ consumerId, spatialLayer, temporalLayer }) => {
      const { room, peer: p } = peer();
      return room.setPreferredLayers(p, consumerId, spatialLayer, temporalLayer);
    });
    on('restartIce', ({ transportId }) => {
      const { room, peer: p } = peer();
      return room.restartIce(p, transportId);
    });
    on('getTransportStats', ({ transportId }) => {
      const { room, peer: p } = peer();
      return room.transportStats(p, transportId);
    });
    on('closeTransport', ({ transportId }) => {
      const { room, peer: p } = peer();
      return room.closeTransport(p, transportId);
    });
    on('leave', () => rooms.leave(socket));

    socket.on('disconnect', () => rooms.socketGone(socket));
  });
}
