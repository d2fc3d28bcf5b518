import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { UnrecoverableError } from '../jobs/index.ts';
import type { MailConfig } from './config.ts';
import { createMailSender, type MailSender } from './sender.ts';
import { mailById, MailService, pendingMailIds, type SessionChangeKind } from './service.ts';

export const MAIL_QUEUE = 'mail-delivery';

interface MailJob {
  mailId: string;
}

/**
 * E-mail: every change of a session (booking, reschedule, cancel: durable
 * outbox events) and every reminder (the reminder job) becomes stored
 * messages (service.ts), each delivered by a BullMQ
 * job with retries and exponential backoff. A message whose attempts are used
 * up is marked `dead` (the dead letter, kept with its last error). A message is
 * marked `sent` only after the server accepted it, and a job for a message not
 * `pending` does nothing: one change, one mail, however often it is retried.
 */
async function mailPlugin(app: FastifyInstance): Promise<void> {
  const config: MailConfig = app.config.mail;
  const sender: MailSender = createMailSender(config, app.config.dataDir);
  const service = new MailService({ db: app.db, from: config.from, publicUrl: app.config.publicUrl, now: () => app.clock.now() });

  const queue = app.jobs.define<MailJob>(
    MAIL_QUEUE,
    async (job) => {
      const mail = await mailById(app.db, job.data.mailId);
      if (!mail) throw new UnrecoverableError(`mail ${job.data.mailId} does not exist`);
      if (mail.status !== 'pending') return { skipped: mail.status };
      try {
        await sender.send({ id: mail.id, from: config.from, to: mail.recipient, raw: mail.raw });
      } catch (err) {
        const last = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
        await app.db.execute(`UPDATE mail_messages SET attempts = attempts + 1, last_error = $2, status = CASE WHEN $3 THEN 'dead' ELSE status END WHERE id = $1`, [
          mail.id,
          (err as Error).message.slice(0, 500),
          last,
        ]);
        throw err;
      }
      await app.db.execute(`UPDATE mail_messages SET status = 'sent', attempts = attempts + 1, sent_at = $2 WHERE id = $1 AND status = 'pending'`, [mail.id, app.clock.now()]);
      return { sent: mail.id };
    },
    { concurrency: 4 },
  );

  const enqueue = async (ids: string[]) => {
    for (const mailId of ids) {
      await queue.add({ mailId }, { jobId: `mail-${mailId}`, attempts: config.attempts, backoff: { type: 'exponential', delay: config.retryDelayMs } });
    }
  };
  // Changes of a session come from the durable outbox (written in the change's own transaction):
  // a crash between the commit and the mail loses nothing; a handler run twice stores no second mail.
  const onChange = (kind: SessionChangeKind) => async ({ payload }: { payload: { sessionId: string } }) => enqueue(await service.mailSessionChange(payload.sessionId, kind));
  app.outbox.handle('session.booked', 'mail', onChange('invitation'));
  app.outbox.handle('session.rescheduled', 'mail', onChange('update'));
  app.outbox.handle('session.cancelled', 'mail', onChange('cancellation'));
  app.events.on('session.reminder', async ({ sessionId, minutesBefore, startsAt }) => enqueue(await service.mailReminder(sessionId, minutesBefore, startsAt)));

  // Mails stored by a process that stopped before queueing them are queued now
  // (the job id is derived from the mail, so one already queued is not doubled).
  app.addHook('onReady', async () => {
    await enqueue(await pendingMailIds(app.db));
  });
  app.addHook('onClose', async () => sender.close());

  app.log.info({ destination: sender.describe }, 'mail delivery');
}

export const mail = fp(mailPlugin, { name: 'mail', dependencies: [] });
