import t from 'tap';
import { loadConfig } from '../src/server/config.ts';
import { ConfigError } from '../src/shared/env.ts';

const base = { JWT_SECRET: 'x'.repeat(40), DATA_DIR: '/tmp/ml-config-test' };

t.test('defaults describe a local embedded server', async (t) => {
  const c = loadConfig(base);
  t.equal(c.port, 3000);
  t.equal(c.databaseUrl, undefined);
  t.equal(c.publicUrl, 'http://127.0.0.1:3000');
  t.same(c.scheduling.reminderOffsetsMinutes, [1440, 15]);
  t.equal(c.scheduling.lateCancelNoticeHours, 24);
});

t.test('a wrong value stops with a message naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /PORT must be an integer/],
    [{ PORT: '70000' }, /PORT must be <= 65535/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL must use postgres: or postgresql:/],
    [{ REDIS_URL: 'not a url' }, /REDIS_URL must be a URL/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL must be one of/],
    [{ SEED_DEMO: 'maybe' }, /SEED_DEMO must be true or false/],
    [{ JWT_SECRET: 'short' }, /JWT_SECRET must be at least 32 characters/],
    [{ REMINDER_OFFSETS_MINUTES: '15,soon' }, /REMINDER_OFFSETS_MINUTES must be a comma-separated list/],
    [{ MEDIASOUP_WORKERS: '-1' }, /MEDIASOUP_WORKERS must be >= 0/],
    [{ DATABASE_POOL_SIZE: '0' }, /DATABASE_POOL_SIZE must be >= 1/],
  ];
  for (const [env, message] of cases) {
    t.throws(() => loadConfig({ ...base, ...env }), message);
    t.throws(() => loadConfig({ ...base, ...env }), ConfigError);
  }
});

t.test('production requires an explicit JWT secret', async (t) => {
  t.throws(() => loadConfig({ NODE_ENV: 'production', DATA_DIR: '/tmp/ml-config-test' }), /JWT_SECRET is required/);
});
