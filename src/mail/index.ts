export { mail as mailPlugin, MAIL_QUEUE } from './plugin.ts';
export { readMailConfig, type MailConfig } from './config.ts';
export { renderMailText, formatRange, type MailFacts, type MailKind } from './texts.ts';
export { renderItip } from './itip.ts';
export { describeMailDestination } from './sender.ts';
