import type { FastifyPluginAsync } from 'fastify';
import { DefenceFlow } from './defence-flow.ts';
import { progressionRoutes } from './routes.ts';
import { Webhooks } from './webhooks.ts';

/**
 * Path progression: mentor evaluations, the jury defence flow (namespace
 * `/defence`), verdicts and diplomas, the student's progress view, signed
 * webhooks and the audit trail.
 */
export const progressionPlugin: FastifyPluginAsync = async (app) => {
  const flow = new DefenceFlow(app);
  flow.registerNamespace();
  const webhooks = new Webhooks(app);
  const offPresence = app.events.on('room.presence', async (e) => {
    if (e.type === 'join' || e.type === 'reconnect') await flow.onRoomJoin(e.sessionId, e.userId);
  });
  app.addHook('onClose', async () => {
    offPresence();
    webhooks.close();
  });
  await app.register(progressionRoutes, { flow, webhooks });
};
