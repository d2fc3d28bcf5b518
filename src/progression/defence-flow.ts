import type { FastifyInstance } from 'fastify';
import type { Namespace } from 'socket.io';
import { Type } from 'typebox';
import { identityOf, onRequest } from '../shared/socket.ts';
import { conflict, unprocessable } from '../shared/errors.ts';
import { Uuid } from '../shared/schemas.ts';
import { candidateIsolated, recordingAllowed, type Phase } from './defence-machine.ts';
import { PhaseSchema } from './schemas.ts';
import {
  admitCandidate,
  advancePhase,
  candidateCopy,
  confirmVerdict,
  defenceRoleOf,
  defenceState,
  ensureDefence,
  getDefenceSession,
  proposeVerdict,
  type DefenceState,
  type PhaseChange,
  type VerdictConfirmation,
  type VerdictInput,
  type VerdictView,
} from './defences.ts';
import type { Viewer } from '../school/index.ts';
import { findSession } from '../sessions/index.ts';

// The rooms and recording capabilities are declared dependencies of progression (plugin.ts):
// their typed decorators, app.rooms and app.recordings, are always there.
import type {} from '../rooms/index.ts';
import type {} from '../recording/index.ts';

export const staffChannel = (sessionId: string) => `defence:${sessionId}:staff`;
export const candidateChannel = (sessionId: string) => `defence:${sessionId}:candidate`;
const allChannel = (sessionId: string) => `defence:${sessionId}`;

export const MarkSchema = Type.Object({ block: Type.String({ minLength: 1, maxLength: 64 }), mark: Type.Number({ minimum: 0, maximum: 20 }) }, { additionalProperties: false });
export const VerdictInputSchema = Type.Object(
  {
    outcome: Type.Union([Type.Literal('pass'), Type.Literal('fail')]),
    marks: Type.Array(MarkSchema, { minItems: 1, maxItems: 30 }),
    comment: Type.String({ minLength: 1, maxLength: 10_000 }),
  },
  { additionalProperties: false },
);
const SessionRef = Type.Object({ sessionId: Uuid });

export type PublishedState = DefenceState & { present: string[] };

/**
 * The jury defence flow: the state machine lives in the database
 * (defences.ts); this class applies its side effects after each change
 * (broadcast `defenceState` on /defence, isolate the candidate in the media
 * room, tell recording whether it may record, emit domain events). HTTP routes
 * and socket handlers both go through it.
 */
export class DefenceFlow {
  readonly #app: FastifyInstance;
  #nsp: Namespace | undefined;

  constructor(app: FastifyInstance) {
    this.#app = app;
  }

  attach(nsp: Namespace): void {
    this.#nsp = nsp;
  }

  async admit(sessionId: string, viewer: Viewer): Promise<PublishedState> {
    const change = await admitCandidate(this.#app, sessionId, viewer);
    return this.#afterPhaseChange(change, viewer);
  }

  async advance(sessionId: string, viewer: Viewer, to: Phase): Promise<PublishedState> {
    const change = await advancePhase(this.#app, sessionId, viewer, to);
    return this.#afterPhaseChange(change, viewer);
  }

  async propose(sessionId: string, viewer: Viewer, input: VerdictInput): Promise<VerdictView> {
    const verdict = await proposeVerdict(this.#app, sessionId, viewer, input);
    await this.publish(sessionId);
    return verdict;
  }

  async confirm(sessionId: string, viewer: Viewer, verdictId: string): Promise<VerdictConfirmation> {
    const result = await confirmVerdict(this.#app, sessionId, viewer, verdictId);
    if (result.completed) {
      // defence.completed and diploma.issued went to the outbox with the verdict (confirmVerdict).
      const { studentId } = result.completed;
      await this.#applyPhase(sessionId, studentId, 'verdict', 'completed', viewer);
    }
    await this.publish(sessionId);
    return result;
  }

  /** Sends the current state to everyone in the defence (the candidate gets no verdict before it is final). */
  async publish(sessionId: string): Promise<PublishedState> {
    const state = { ...(await defenceState(this.#app, sessionId)), present: await this.#present(sessionId) };
    if (this.#nsp) {
      this.#nsp.to(staffChannel(sessionId)).emit('defenceState', state);
      this.#nsp.to(candidateChannel(sessionId)).emit('defenceState', candidateCopy(state) as PublishedState);
    }
    return state;
  }

  async #present(sessionId: string): Promise<string[]> {
    if (!this.#nsp) return [];
    const sockets = await this.#nsp.in(allChannel(sessionId)).fetchSockets();
    return [...new Set(sockets.map((s) => (s.data.identity as { userId: string }).userId))].sort();
  }

  async #afterPhaseChange(change: PhaseChange, viewer: Viewer): Promise<PublishedState> {
    await this.#applyPhase(change.sessionId, change.candidateId, change.from, change.to, viewer);
    return this.publish(change.sessionId);
  }

  async #applyPhase(sessionId: string, candidateId: string, from: Phase, phase: Phase, viewer: Viewer): Promise<void> {
    await this.#followRecordingRule(sessionId, from, phase, viewer);
    const isolated = candidateIsolated(phase);
    this.isolate(sessionId, candidateId, isolated, phase === 'lobby' ? 'lobby' : phase === 'deliberation' ? 'deliberation' : phase);
    this.#app.events.emit('defence.phase_changed', {
      sessionId,
      candidateId,
      phase,
      candidateIsolated: isolated,
      recordingAllowed: recordingAllowed(phase, this.#app.config.recording.recordDeliberation),
    });
  }

  /**
   * The school's rule on recording the deliberation (RECORD_DELIBERATION,
   * default off): the running recording is stopped when deliberation starts
   * (stopped by hand, so the automatic defence recording does not restart it
   * when someone rejoins) and a new one starts when the candidate comes back
   * for the verdict.
   */
  async #followRecordingRule(sessionId: string, from: Phase, to: Phase, viewer: Viewer): Promise<void> {
    const recordings = this.#app.recordings;
    if (this.#app.config.recording.recordDeliberation) return;
    try {
      if (to === 'deliberation') {
        // Running here, or on the node that holds the room (then stop() is sent there).
        const active =
          recordings.activeOf(sessionId) ??
          (await this.#app.db.one<{ recordingId: string }>(`SELECT id AS "recordingId" FROM recordings WHERE session_id = $1 AND status = 'recording' LIMIT 1`, [sessionId]));
        if (active) {
          await this.#app.db.execute('UPDATE defences SET recording_paused = true WHERE session_id = $1', [sessionId]);
          await recordings.stop(sessionId, active.recordingId, viewer);
        }
      } else if (from === 'deliberation' && to === 'verdict') {
        const paused = await this.#app.db.one<{ x: number }>('UPDATE defences SET recording_paused = false WHERE session_id = $1 AND recording_paused RETURNING 1 AS x', [sessionId]);
        if (paused && !recordings.activeOf(sessionId)) await recordings.start(sessionId, viewer);
      }
    } catch (err) {
      this.#app.log.warn({ err, sessionId, from, to }, 'the recording could not follow the deliberation rule');
    }
  }

  /** Isolates (or brings back) the candidate in the live media room, when there is one. */
  isolate(sessionId: string, candidateId: string, isolated: boolean, reason: string): void {
    const rooms = this.#app.rooms;
    const room = rooms.getRoom(sessionId);
    if (!room) {
      // The room may live on another node: isolation is applied there.
      void rooms.commands
        .run(sessionId, 'room.isolate', { userId: candidateId, isolated, reason })
        .catch((err: unknown) => this.#app.log.error({ err, sessionId }, 'could not change the candidate isolation on the room’s node'));
      return;
    }
    try {
      void Promise.resolve(room.setIsolated(candidateId, isolated, reason)).catch((err: unknown) =>
        this.#app.log.error({ err, sessionId }, 'could not change the candidate isolation'),
      );
    } catch (err) {
      this.#app.log.error({ err, sessionId }, 'could not change the candidate isolation');
    }
  }

  /**
   * A participant entered the media room: the candidate stays isolated in the
   * lobby and during deliberation (the defence opens in the lobby if nobody
   * opened it yet).
   */
  async onRoomJoin(sessionId: string, userId: string): Promise<void> {
    const session = await findSession(this.#app.db, sessionId);
    if (!session || session.kind !== 'defence') return;
    const row = await ensureDefence(this.#app, session);
    if (row.candidateId !== userId) return;
    if (candidateIsolated(row.phase)) this.isolate(sessionId, userId, true, row.phase);
  }

  /** The `/defence` namespace: participants of a defence (and coordinators) only. */
  registerNamespace(): void {
    const app = this.#app;
    const nsp = app.io.of('/defence');
    nsp.use(app.socketAuth);
    this.attach(nsp);
    nsp.on('connection', (socket) => {
      const me = identityOf(socket);
      const viewer: Viewer = { userId: me.userId, role: me.role };
      const joined = new Set<string>();
      if (socket.recovered) {
        // Connection state recovery gave the socket its rooms back: it is still in those defences.
        for (const room of socket.rooms) {
          const m = /^defence:([0-9a-f-]{36})$/.exec(room);
          if (m?.[1]) joined.add(m[1]);
        }
      }

      onRequest(
        socket,
        'join',
        SessionRef,
        async ({ sessionId }) => {
          const session = await getDefenceSession(app.db, sessionId);
          const role = await defenceRoleOf(app.db, session, viewer);
          await ensureDefence(app, session);
          await socket.join([allChannel(sessionId), role === 'candidate' ? candidateChannel(sessionId) : staffChannel(sessionId)]);
          joined.add(sessionId);
          const state = await this.publish(sessionId);
          return { role, state: role === 'candidate' ? (candidateCopy(state) as PublishedState) : state };
        },
        app.log,
      );
      onRequest(socket, 'state', SessionRef, async ({ sessionId }) => {
        if (!joined.has(sessionId)) throw notJoined();
        const state = { ...(await defenceState(app, sessionId)), present: await this.#present(sessionId) };
        return socket.rooms.has(candidateChannel(sessionId)) ? (candidateCopy(state) as PublishedState) : state;
      }, app.log);
      onRequest(socket, 'admit', SessionRef, ({ sessionId }) => this.admit(sessionId, viewer), app.log);
      onRequest(socket, 'advance', Type.Object({ sessionId: Uuid, to: PhaseSchema }), ({ sessionId, to }) => this.advance(sessionId, viewer, to), app.log);
      onRequest(
        socket,
        'proposeVerdict',
        Type.Object({ sessionId: Uuid, verdict: VerdictInputSchema }),
        ({ sessionId, verdict }) => this.propose(sessionId, viewer, verdict),
        app.log,
      );
      onRequest(
        socket,
        'confirmVerdict',
        Type.Object({ sessionId: Uuid, verdictId: Uuid }),
        async ({ sessionId, verdictId }) => {
          const result = await this.confirm(sessionId, viewer, verdictId);
          return { verdict: result.verdict, completed: result.completed ?? null };
        },
        app.log,
      );
      onRequest(socket, 'leave', SessionRef, async ({ sessionId }) => {
        joined.delete(sessionId);
        await socket.leave(allChannel(sessionId));
        await socket.leave(staffChannel(sessionId));
        await socket.leave(candidateChannel(sessionId));
        await this.publish(sessionId);
        return {};
      }, app.log);

      socket.on('disconnect', () => {
        // Presence changed: tell the others (a jury member dropping does not stop the defence).
        for (const sessionId of joined) {
          void this.publish(sessionId).catch((err: unknown) => app.log.error({ err, sessionId }, 'defence state broadcast failed'));
        }
      });
    });
  }
}

const notJoined = () => conflict('not_joined', 'Join the defence first');
