import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Jobs } from '../src/jobs/index.ts';
import { testRedisUrl } from './helpers/app.ts';

const silent = { info() {}, warn() {}, error() {} };

t.test('jobs: delayed delivery, one job per id, removal, close', async (t) => {
  const jobs = new Jobs({ redisUrl: testRedisUrl, prefix: `tj${randomBytes(3).toString('hex')}`, logger: silent });
  t.teardown(() => jobs.close(2_000));
  const seen: string[] = [];
  let onSeen: () => void = () => undefined;
  const queue = jobs.define<{ label: string }>('greetings', async (job) => {
    seen.push(job.data.label);
    onSeen();
  });
  t.throws(() => jobs.define('greetings', async () => undefined), /defined twice/);

  const processed = new Promise<void>((resolve) => (onSeen = resolve));
  await queue.add({ label: 'late' }, { jobId: 'same', delay: 300 });
  await queue.add({ label: 'duplicate' }, { jobId: 'same', delay: 300 });
  await queue.add({ label: 'cancelled' }, { jobId: 'removed', delay: 60_000 });
  t.equal(await queue.remove('removed'), true, 'a delayed job is removed');
  t.equal(await queue.remove('removed'), false, 'removing twice is a no-op');
  await processed;
  t.same(seen, ['late'], 'the same jobId twice is one job; the removed one never ran');
  t.equal(await queue.remove('same'), false, 'a finished job cannot be removed');
});
