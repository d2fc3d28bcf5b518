import { Type } from 'typebox';
import { readEnv, type Env } from '../shared/env.ts';

/** Code review's variables (part of the configuration schema, src/server/config.ts). */
export const codereviewEnv = Type.Object({
  REVIEW_MAX_DOCUMENTS: Type.Integer({ default: 50, minimum: 1, maximum: 10_000, description: 'Documents per session (more: review_document_quota)' }),
  REVIEW_MAX_BYTES: Type.Integer({ default: 5 * 1024 * 1024, minimum: 1024, description: 'Total UTF-8 bytes of a session’s documents (more: review_bytes_quota)' }),
  REVIEW_MAX_COMMENTS: Type.Integer({ default: 2000, minimum: 1, maximum: 100_000, description: 'Comments per session (more: review_comment_quota)' }),
  REVIEW_OPENS_MINUTES_BEFORE: Type.Integer({ default: 30, minimum: 0, maximum: 1440, description: 'Review writes open this many minutes before a session starts' }),
  REVIEW_GRACE_MINUTES: Type.Integer({ default: 60, minimum: 0, maximum: 10_080, description: 'Review writes stay open this many minutes after a session ends' }),
});

export interface CodereviewConfig {
  maxDocuments: number;
  maxBytes: number;
  maxComments: number;
  opensMinutesBefore: number;
  graceMinutes: number;
}

export function readCodereviewConfig(env: Env): CodereviewConfig {
  const v = readEnv(codereviewEnv, env);
  return {
    maxDocuments: v.REVIEW_MAX_DOCUMENTS,
    maxBytes: v.REVIEW_MAX_BYTES,
    maxComments: v.REVIEW_MAX_COMMENTS,
    opensMinutesBefore: v.REVIEW_OPENS_MINUTES_BEFORE,
    graceMinutes: v.REVIEW_GRACE_MINUTES,
  };
}
