import type { types } from 'mediasoup';
import type { Socket } from 'socket.io';
import type { ParticipantRole } from '../sessions/index.ts';
import { notFound } from '../shared/errors.ts';
import type { ServerEvents, Source } from './messages.ts';
import type { Timer } from '../shared/clock.ts';

export interface TransportData extends Record<string, unknown> {
  direction: 'send' | 'recv';
  peerId: string;
  connected: boolean;
}
export interface MediaData extends Record<string, unknown> {
  source: Source;
  userId: string;
  peerId: string;
}

export type PeerTransport = types.WebRtcTransport<TransportData>;
export type PeerProducer = types.Producer<MediaData>;
export type PeerConsumer = types.Consumer<MediaData>;

/**
 * One user in one room. The peer outlives a socket: a user who comes back
 * within the reconnection grace (or opens a second tab) gets the same peer,
 * bound to the new socket. Owns the user's transports, and through them the
 * producers and consumers; parents forget children in the children's close
 * handlers (see Room).
 */
export class Peer {
  readonly id: string;
  readonly userId: string;
  readonly name: string;
  readonly role: ParticipantRole;
  socket: Socket | undefined;
  readonly transports = new Map<string, PeerTransport>();
  readonly producers = new Map<string, PeerProducer>();
  readonly consumers = new Map<string, PeerConsumer>();
  /** Pending removal after the socket dropped. */
  graceTimer: Timer | undefined;
  removed = false;

  constructor(fields: { id: string; userId: string; name: string; role: ParticipantRole; socket: Socket }) {
    this.id = fields.id;
    this.userId = fields.userId;
    this.name = fields.name;
    this.role = fields.role;
    this.socket = fields.socket;
  }

  get connected(): boolean {
    return this.socket !== undefined;
  }

  notify<E extends keyof ServerEvents>(event: E, payload: ServerEvents[E]): void {
    this.socket?.emit(event, payload);
  }

  transport(transportId: string): PeerTransport {
    const transport = this.transports.get(transportId);
    if (!transport) throw notFound('transport_not_found', 'No such transport');
    return transport;
  }

  producer(producerId: string): PeerProducer {
    const producer = this.producers.get(producerId);
    if (!producer) throw notFound('producer_not_found', 'No such producer');
    return producer;
  }

  consumer(consumerId: string): PeerConsumer {
    const consumer = this.consumers.get(consumerId);
    if (!consumer) throw notFound('consumer_not_found', 'No such consumer');
    return consumer;
  }

  /** Closes every transport (and so every producer and consumer); close handlers do the bookkeeping. */
  closeMedia(): void {
    for (const transport of [...this.transports.values()]) {
      try {
        transport.close();
      } catch {
        /* already closed with its router: nothing left to release */
      }
    }
  }

  clearGrace(): void {
    this.graceTimer?.cancel();
    this.graceTimer = undefined;
  }
}
