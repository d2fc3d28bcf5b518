import type { Db } from '../db/index.ts';
import type { DomainEvents } from '../events/index.ts';
import type { Outbox } from '../outbox/index.ts';
import type { AppConfig } from '../server/config.ts';
import type { Clock } from '../shared/clock.ts';

/** What the progression services need from the app (a FastifyInstance fits). */
export interface ProgressionDeps {
  db: Db;
  clock: Clock;
  events: DomainEvents;
  outbox: Outbox;
  config: AppConfig;
}
