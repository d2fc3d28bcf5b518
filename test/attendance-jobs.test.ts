import t from 'tap';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startTestApp, testRedisUrl } from './helpers/app.ts';
import { insertDemoMentoring } from './helpers/sessions.ts';

/**
 * The attendance jobs follow scheduling's domain events: booked → a no-show
 * check at start + 10 min and a finalize at end + 20 min; rescheduled → the
 * old jobs removed, new ones at the new times; cancelled → no jobs, and the
 * late cancellation counted.
 */
t.test('no-show and finalize jobs follow booking, rescheduling and cancellation', async (t) => {
  const { app, db, demo, config } = await startTestApp(t);
  const connection = new Redis(testRedisUrl, { maxRetriesPerRequest: null });
  const prefix = `${config.redisPrefix}:bull`;
  const noShow = new Queue('attendance-no-show', { connection, prefix });
  const finalize = new Queue('attendance-finalize', { connection, prefix });
  t.teardown(async () => {
    await noShow.close();
    await finalize.close();
    await connection.quit();
  });
  const state = async (queue: Queue, id: string) => (await queue.getJob(id))?.getState() ?? 'absent';

  const start = Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000;
  const sessionId = await insertDemoMentoring(db, demo, { startsAt: new Date(start), endsAt: new Date(start + 3600_000) });

  app.events.emit('session.booked', { sessionId });
  await app.events.drain();
  const firstNoShow = await noShow.getJob(`noshow-${sessionId}-${start}`);
  t.equal(await firstNoShow?.getState(), 'delayed');
  t.ok(Math.abs(firstNoShow!.timestamp + firstNoShow!.opts.delay! - (start + 10 * 60_000)) < 1000, 'no-show check due at start + 10 minutes');
  const firstFinalize = await finalize.getJob(`finalize-${sessionId}-${start + 3600_000}`);
  t.equal(await firstFinalize?.getState(), 'delayed');
  t.ok(Math.abs(firstFinalize!.timestamp + firstFinalize!.opts.delay! - (start + 3600_000 + 20 * 60_000)) < 1000, 'finalize due at end + 20 minutes');

  const moved = start + 86_400_000;
  await db.execute('UPDATE sessions SET starts_at = $2, ends_at = $3 WHERE id = $1', [sessionId, new Date(moved), new Date(moved + 3600_000)]);
  app.events.emit('session.rescheduled', { sessionId });
  await app.events.drain();
  t.equal(await state(noShow, `noshow-${sessionId}-${start}`), 'absent', 'the old no-show check is removed');
  t.equal(await state(finalize, `finalize-${sessionId}-${start + 3600_000}`), 'absent', 'the old finalize is removed');
  t.equal(await state(noShow, `noshow-${sessionId}-${moved}`), 'delayed');
  t.equal(await state(finalize, `finalize-${sessionId}-${moved + 3600_000}`), 'delayed');

  await db.execute("UPDATE sessions SET status = 'cancelled' WHERE id = $1", [sessionId]);
  app.events.emit('session.cancelled', { sessionId, late: false });
  await app.events.drain();
  t.equal(await state(noShow, `noshow-${sessionId}-${moved}`), 'absent', 'a cancelled session has no no-show check');
  t.equal(await state(finalize, `finalize-${sessionId}-${moved + 3600_000}`), 'absent');
  const row = await db.one<{ late: boolean }>('SELECT late FROM attendance_cancellations WHERE session_id = $1', [sessionId]);
  t.equal(row?.late, false);
});
