import { int, type Env } from '../shared/env.ts';

export interface DefencePhaseDurations {
  presentationMinutes: number;
  questionsMinutes: number;
  deliberationMinutes: number;
  verdictMinutes: number;
}

export interface ProgressionConfig {
  /** Days a failed candidate waits before a new defence. */
  retakeDelayDays: number;
  /** Webhook delivery attempts before the dead-letter state. */
  webhookMaxAttempts: number;
  /** First retry delay of a webhook delivery; doubles at each attempt (exponential backoff). */
  webhookBackoffMs: number;
  /** Timeout of one webhook HTTP request. */
  webhookTimeoutMs: number;
  /** Planned duration of each defence phase (shown to everyone in the room). */
  defencePhases: DefencePhaseDurations;
  /** How early before its start a defence may be opened by the jury. */
  defenceOpenEarlyMinutes: number;
}

export function readProgressionConfig(env: Env): ProgressionConfig {
  return {
    retakeDelayDays: int(env, 'DEFENCE_RETAKE_DELAY_DAYS', 30, { min: 0 }),
    webhookMaxAttempts: int(env, 'WEBHOOK_MAX_ATTEMPTS', 6, { min: 1, max: 20 }),
    webhookBackoffMs: int(env, 'WEBHOOK_BACKOFF_MS', 30_000, { min: 10 }),
    webhookTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 10_000, { min: 100, max: 120_000 }),
    defencePhases: {
      presentationMinutes: int(env, 'DEFENCE_PRESENTATION_MINUTES', 20, { min: 1, max: 240 }),
      questionsMinutes: int(env, 'DEFENCE_QUESTIONS_MINUTES', 20, { min: 1, max: 240 }),
      deliberationMinutes: int(env, 'DEFENCE_DELIBERATION_MINUTES', 15, { min: 1, max: 240 }),
      verdictMinutes: int(env, 'DEFENCE_VERDICT_MINUTES', 10, { min: 1, max: 240 }),
    },
    defenceOpenEarlyMinutes: int(env, 'DEFENCE_OPEN_EARLY_MINUTES', 15, { min: 0, max: 240 }),
  };
}
