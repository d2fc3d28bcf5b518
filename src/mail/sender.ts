import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { MailConfig } from './config.ts';

/**
 * Where mail goes: an SMTP server through nodemailer (SMTP_URL), or, with no
 * SMTP configured, `.eml` files in `<DATA_DIR>/mail` that any mail client
 * opens, so a fresh machine runs without a mail server. Both take the
 * already-composed message (RFC 5322 bytes): what is sent is exactly what was
 * stored when the change happened.
 */
export interface MailSender {
  /** Human-readable destination, printed at start-up. */
  readonly describe: string;
  send(message: { id: string; from: string; to: string; raw: string }): Promise<void>;
  close(): void;
}

/** Where mail goes, in words (the start-up banner says it; no credentials). */
export function describeMailDestination(config: MailConfig, dataDir: string): string {
  if (!config.smtpUrl) return `.eml files in ${join(dataDir, 'mail')} (no SMTP_URL)`;
  const { host, port } = new URL(config.smtpUrl);
  return `SMTP ${host}${port ? `:${port}` : ''}`;
}

export function createMailSender(config: MailConfig, dataDir: string): MailSender {
  const describe = describeMailDestination(config, dataDir);
  if (config.smtpUrl) {
    const transport = nodemailer.createTransport(config.smtpUrl);
    return {
      describe,
      async send(m) {
        await transport.sendMail({ envelope: { from: m.from, to: [m.to] }, raw: m.raw });
      },
      close: () => transport.close(),
    };
  }
  const dir = join(dataDir, 'mail');
  return {
    describe,
    async send(m) {
      mkdirSync(dir, { recursive: true });
      // Written aside then renamed: a reader never sees half a message.
      const file = join(dir, `${m.id}.eml`);
      writeFileSync(`${file}.tmp`, m.raw);
      renameSync(`${file}.tmp`, file);
    },
    close: () => {},
  };
}
