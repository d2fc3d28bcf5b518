import { int, type Env } from '../shared/env.ts';

export interface ProgressionConfig {
  /** Days a failed candidate waits before a new defence. */
  retakeDelayDays: number;
  /** Webhook delivery attempts before the dead-letter state. */
  webhookMaxAttempts: number;
}

export function readProgressionConfig(env: Env): ProgressionConfig {
  return {
    retakeDelayDays: int(env, 'DEFENCE_RETAKE_DELAY_DAYS', 30, { min: 0 }),
    webhookMaxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 6, { min: 1, max: 20 }),
  };
}
