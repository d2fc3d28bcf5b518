/**
 * In-process domain events: one capability announces what happened, others
 * react (attendance listens to rooms, webhooks listen to everything) without
 * importing each other. Listeners run after the emitter's work is done; a
 * failing listener is logged, never thrown back at the emitter.
 */
export type PresenceType =
  | 'join'
  | 'leave'
  | 'disconnect'
  | 'reconnect'
  | 'transport_connected'
  | 'transport_failed'
  | 'producer_started'
  | 'producer_stopped'
  /** The client paused (muted, camera off) / resumed a producer of `source`. */
  | 'producer_paused'
  | 'producer_resumed'
  /**
   * From the participant's media (rooms watches their producers' packets):
   * flowing, lost (dated back to the last packet seen), or idle (no running
   * producer: the socket alone tells whether they are connected).
   */
  | 'media_flowing'
  | 'media_lost'
  | 'media_idle';

/** A participant's connection quality (LiveKit's names). */
export type ConnectionQuality = 'excellent' | 'good' | 'poor' | 'lost';

/** Why a room closed; sent to clients in `roomClosing` and in the `room.closed` domain event. */
export type RoomCloseReason =
  | 'empty_timeout'
  | 'departure_timeout'
  | 'session_ended'
  | 'session_cancelled'
  | 'worker_died'
  | 'server_draining'
  | 'lease_lost';

export interface DomainEventMap {
  'session.booked': { sessionId: string };
  'session.rescheduled': { sessionId: string };
  'session.cancelled': { sessionId: string; late: boolean; /** user id of whoever cancelled */ cancelledBy?: string };
  'session.completed': { sessionId: string };
  /** A reminder is due (scheduling's reminder job): mail sends it to those who want it by e-mail. */
  'session.reminder': { sessionId: string; minutesBefore: number; startsAt: string };
  'room.presence': { sessionId: string; userId: string; type: PresenceType; source?: 'mic' | 'webcam' | 'screen'; at: Date };
  /** A participant's connection quality changed (rooms samples it every second). */
  'room.quality': { sessionId: string; userId: string; level: ConnectionQuality; at: Date };
  'room.closed': { sessionId: string; reason: RoomCloseReason };
  'attendance.finalized': { sessionId: string };
  'attendance.no_show': { sessionId: string; userIds: string[] };
  'recording.ready': { sessionId: string; recordingId: string };
  'project.validated': { enrollmentId: string; projectId: string; studentId: string };
  'defence.completed': { sessionId: string; studentId: string; outcome: 'pass' | 'fail' };
  'diploma.issued': { diplomaId: string; studentId: string };
  /** A defence changed phase (progression): recording pauses when recordingAllowed is false. */
  'defence.phase_changed': { sessionId: string; candidateId: string; phase: string; candidateIsolated: boolean; recordingAllowed: boolean };
}

export type DomainEventName = keyof DomainEventMap;

/**
 * The events other systems must hear about even if the server crashes right
 * after the change: each is appended to the outbox in the change's own
 * transaction (src/outbox) and delivered from there, at least once, to the
 * handlers capabilities register (webhooks, …). The in-process bus above
 * still carries them too, for listeners in this process.
 */
export const DURABLE_EVENTS = [
  'session.booked',
  'session.rescheduled',
  'session.cancelled',
  'session.completed',
  'attendance.finalized',
  'recording.ready',
  'project.validated',
  'defence.completed',
  'diploma.issued',
] as const satisfies readonly DomainEventName[];
export type DurableEventName = (typeof DURABLE_EVENTS)[number];
type Listener<K extends DomainEventName> = (payload: DomainEventMap[K]) => void | Promise<void>;

export class DomainEvents {
  readonly #listeners = new Map<DomainEventName, Set<Listener<never>>>();
  readonly #onError: (err: unknown, event: DomainEventName) => void;
  readonly #pending = new Set<Promise<void>>();

  constructor(onError: (err: unknown, event: DomainEventName) => void) {
    this.#onError = onError;
  }

  on<K extends DomainEventName>(event: K, listener: Listener<K>): () => void {
    let set = this.#listeners.get(event);
    if (!set) this.#listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends DomainEventName>(event: K, payload: DomainEventMap[K]): void {
    for (const listener of this.#listeners.get(event) ?? []) {
      const run = (async () => {
        try {
          await (listener as Listener<K>)(payload);
        } catch (err) {
          this.#onError(err, event);
        }
      })();
      this.#pending.add(run);
      void run.finally(() => this.#pending.delete(run));
    }
  }

  /** Waits for listeners still running (used at shutdown, so nothing is half-written). */
  async drain(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }
}
