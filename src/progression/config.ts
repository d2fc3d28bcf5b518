import { Type } from 'typebox';
import { readEnv, type Env } from '../shared/env.ts';
import { parseAllowlist, type EgressAllow } from './egress.ts';

/** Progression's variables (part of the configuration schema, src/server/config.ts). */
export const progressionEnv = Type.Object({
  DEFENCE_RETAKE_DELAY_DAYS: Type.Integer({ default: 30, minimum: 0, description: 'Wait before a new defence after a fail' }),
  WEBHOOK_MAX_ATTEMPTS: Type.Integer({ default: 6, minimum: 1, maximum: 20, description: 'Webhook deliveries before the dead-letter state' }),
  WEBHOOK_BACKOFF_MS: Type.Integer({ default: 30_000, minimum: 10, description: 'First retry delay of a webhook; doubles at each attempt' }),
  WEBHOOK_TIMEOUT_MS: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000, description: 'Timeout of one webhook HTTP request' }),
  WEBHOOK_ALLOWED_HOSTS: Type.String({ default: '', description: 'Comma-separated host names, IPs or CIDRs webhooks may reach although loopback/private/link-local (refused by default)' }),
  DEFENCE_PRESENTATION_MINUTES: Type.Integer({ default: 20, minimum: 1, maximum: 240, description: 'Planned length of a defence’s presentation phase' }),
  DEFENCE_QUESTIONS_MINUTES: Type.Integer({ default: 20, minimum: 1, maximum: 240, description: 'Planned length of the questions phase' }),
  DEFENCE_DELIBERATION_MINUTES: Type.Integer({ default: 15, minimum: 1, maximum: 240, description: 'Planned length of the jury’s deliberation' }),
  DEFENCE_VERDICT_MINUTES: Type.Integer({ default: 10, minimum: 1, maximum: 240, description: 'Planned length of the verdict phase' }),
  DEFENCE_OPEN_EARLY_MINUTES: Type.Integer({ default: 15, minimum: 0, maximum: 240, description: 'How early before its start the jury may open a defence' }),
});

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
  /** Internal destinations webhooks may reach anyway (SSRF guard's allowlist). */
  webhookAllow: EgressAllow;
  /** Planned duration of each defence phase (shown to everyone in the room). */
  defencePhases: DefencePhaseDurations;
  /** How early before its start a defence may be opened by the jury. */
  defenceOpenEarlyMinutes: number;
}

export function readProgressionConfig(env: Env): ProgressionConfig {
  const v = readEnv(progressionEnv, env);
  return {
    retakeDelayDays: v.DEFENCE_RETAKE_DELAY_DAYS,
    webhookMaxAttempts: v.WEBHOOK_MAX_ATTEMPTS,
    webhookBackoffMs: v.WEBHOOK_BACKOFF_MS,
    webhookTimeoutMs: v.WEBHOOK_TIMEOUT_MS,
    webhookAllow: parseAllowlist(v.WEBHOOK_ALLOWED_HOSTS),
    defencePhases: {
      presentationMinutes: v.DEFENCE_PRESENTATION_MINUTES,
      questionsMinutes: v.DEFENCE_QUESTIONS_MINUTES,
      deliberationMinutes: v.DEFENCE_DELIBERATION_MINUTES,
      verdictMinutes: v.DEFENCE_VERDICT_MINUTES,
    },
    defenceOpenEarlyMinutes: v.DEFENCE_OPEN_EARLY_MINUTES,
  };
}
