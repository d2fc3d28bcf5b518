import t from 'tap';
import type { DomainEventMap } from '../src/events/index.ts';
import type { FastifyInstance } from 'fastify';
import { api } from './helpers/app.ts';
import { startRestartableApp } from './helpers/restartable-app.ts';
import { insertLiveMentoring } from './helpers/sessions.ts';
import { WeriftPeer } from '../support/werift-peer.ts';

const presenceOf = (app: FastifyInstance, match: (e: DomainEventMap['room.presence']) => boolean) =>
  new Promise<DomainEventMap['room.presence']>((resolve) => {
    const off = app.events.on('room.presence', (e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });

/**
 * A planned server restart (SIGTERM-style close: rooms close `server_draining`)
 * is not a departure: the participant who comes back to the restarted server
 * within the grace has one visit with one network gap.
 */
t.test('a planned server restart is one visit with a gap', async (t) => {
  const server = await startRestartableApp(t);
  const { demo } = server;
  const first = server.current();
  const sessionId = await insertLiveMentoring(first.db, demo);
  const token = await server.login(demo.student);
  const before = await WeriftPeer.connect(first.url, token);
  t.teardown(() => before.close());
  const flowing = presenceOf(first.app, (e) => e.userId === demo.student.id && e.type === 'media_flowing');
  await before.join(sessionId);
  await before.produce('audio', 'mic');
  await flowing;

  const second = await server.restart();
  const after = await WeriftPeer.connect(second.url, token);
  t.teardown(() => after.close());
  await after.join(sessionId);
  await second.app.events.drain();

  const mentorToken = await server.login(demo.mentor);
  const me = (await api(second.url, 'GET', `/sessions/${sessionId}/attendance`, mentorToken)).body.participants.find((p: any) => p.userId === demo.student.id);
  t.equal(me.intervals.length, 1, 'one visit');
  t.equal(me.networkGaps, 1, 'one network gap: the restart');
  t.equal(me.presentNow, true);
});
