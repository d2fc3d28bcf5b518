import fp from 'fastify-plugin';
import { DefenceFlow } from './defence-flow.ts';
import { progressionRoutes } from './routes.ts';
import { Webhooks } from './webhooks.ts';

/** The live face of progression: the defence flow and the webhook deliveries. */
export interface Progression {
  /** The jury defence flow (state machine in the store, side effects on /defence, rooms and recording). */
  defences: DefenceFlow;
  /** Signed webhooks: subscriptions' deliveries (BullMQ), fed by the outbox. */
  webhooks: Webhooks;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Path progression's live services (src/progression/plugin.ts). */
    progression: Progression;
  }
}

/**
 * Path progression: mentor evaluations, the jury defence flow (namespace
 * `/defence`), verdicts and diplomas, the student's progress view, signed
 * webhooks and the audit trail. Decorates `app.progression`.
 *
 * Needs 'sockets' (the /defence namespace), 'rooms' (the candidate isolated in
 * the media room) and 'recording' (the deliberation's recording rule): without
 * them the server does not start, rather than the rule silently doing nothing.
 */
export const progressionPlugin = fp(
  async (app) => {
    const flow = new DefenceFlow(app);
    flow.registerNamespace();
    const webhooks = new Webhooks(app);
    app.decorate('progression', { defences: flow, webhooks } satisfies Progression);
    const offPresence = app.events.on('room.presence', async (e) => {
      if (e.type === 'join' || e.type === 'reconnect') await flow.onRoomJoin(e.sessionId, e.userId);
    });
    app.addHook('onClose', async () => {
      offPresence();
    });
    await app.register(progressionRoutes, { flow, webhooks });
  },
  { name: 'progression', dependencies: ['sockets', 'rooms', 'recording'] },
);
