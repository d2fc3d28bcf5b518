import { Type } from 'typebox';
import { readEnv, UrlVar, type Env } from '../shared/env.ts';

/** Mail's variables (part of the configuration schema, src/server/config.ts). */
export const mailEnv = Type.Object({
  SMTP_URL: Type.Optional(UrlVar(['smtp:', 'smtps:'], { defaultText: 'unset: each mail written to DATA_DIR/mail/*.eml', description: 'Mail server (`smtp://user:pass@host:587`, `smtps://…`)' })),
  MAIL_FROM: Type.String({ default: 'Mentor Live <no-reply@mentor-live.local>', description: 'The From address of every mail' }),
  MAIL_ATTEMPTS: Type.Integer({ default: 10, minimum: 1, maximum: 50, description: 'Delivery attempts before a mail is dead-lettered' }),
  MAIL_RETRY_DELAY_MS: Type.Integer({ default: 30_000, minimum: 10, maximum: 3_600_000, description: 'First retry delay of a mail; doubles at each attempt' }),
});

export interface MailConfig {
  /** smtp:// or smtps:// URL of the mail server; undefined writes each mail to `<DATA_DIR>/mail/*.eml`. */
  smtpUrl: string | undefined;
  /** The From address of every mail. */
  from: string;
  /** Delivery attempts before a mail is dead-lettered (status `dead`). */
  attempts: number;
  /** First retry delay; each next one doubles (BullMQ exponential backoff). */
  retryDelayMs: number;
}

export function readMailConfig(env: Env): MailConfig {
  const v = readEnv(mailEnv, env);
  return {
    smtpUrl: v.SMTP_URL,
    from: v.MAIL_FROM,
    attempts: v.MAIL_ATTEMPTS,
    retryDelayMs: v.MAIL_RETRY_DELAY_MS,
  };
}
