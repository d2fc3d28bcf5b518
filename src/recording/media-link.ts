import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { Role } from '../auth/index.ts';

/**
 * Short-lived signed links to a recording's composite, for a `<video>`
 * element, which cannot send a bearer header. A link names the recording and
 * the viewer (checked again when it is used, so a viewer who lost access loses
 * the link too) and expires. Its key is derived from the JWT secret for this
 * purpose only: a link is never an access token, nor the other way round.
 */
export interface MediaClaims {
  recordingId: string;
  userId: string;
  role: Role;
  /** Epoch seconds. */
  expiresAt: number;
}

export class MediaLinks {
  readonly #key: Buffer;

  constructor(secret: string) {
    this.#key = Buffer.from(hkdfSync('sha256', secret, 'mentor-live', 'recording-media-link', 32));
  }

  #mac(c: MediaClaims): string {
    return createHmac('sha256', this.#key).update(`${c.recordingId}\n${c.userId}\n${c.role}\n${c.expiresAt}`).digest('base64url');
  }

  /** Query string (`u`, `r`, `e`, `s`) of a link. */
  sign(c: MediaClaims): string {
    return new URLSearchParams({ u: c.userId, r: c.role, e: String(c.expiresAt), s: this.#mac(c) }).toString();
  }

  /** The claims of a valid, unexpired link for `recordingId`, or undefined. */
  verify(recordingId: string, q: { u?: string; r?: string; e?: string; s?: string }, nowMs: number): MediaClaims | undefined {
    if (!q.u || !q.r || !q.e || !q.s || !/^\d{1,12}$/.test(q.e)) return undefined;
    const claims: MediaClaims = { recordingId, userId: q.u, role: q.r as Role, expiresAt: Number(q.e) };
    if (claims.expiresAt * 1000 < nowMs) return undefined;
    const expected = Buffer.from(this.#mac(claims));
    const given = Buffer.from(q.s);
    return expected.length === given.length && timingSafeEqual(expected, given) ? claims : undefined;
  }
}
