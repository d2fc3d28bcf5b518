import { createHmac } from 'node:crypto';
import type { IceServer, RoomsConfig, TurnConfig } from './config.ts';

/**
 * TURN credentials in the TURN REST API scheme (coturn's `use-auth-secret`):
 * the username is `<expiry unix seconds>:<userId>` and the password is
 * base64(HMAC-SHA1(shared secret, username)). coturn recomputes the password
 * from the secret and refuses the username once its expiry has passed, so no
 * long-lived password ever reaches a browser and nothing is stored per user.
 * coturn checks the expiry on every authenticated request (allocation,
 * refresh, permission), so the lifetime must cover a session; a rejoin gets new ones.
 */
export function turnCredentials(turn: TurnConfig, userId: string, now: Date): IceServer {
  const expiry = Math.floor(now.getTime() / 1000) + turn.credentialTtlSeconds;
  const username = `${expiry}:${userId}`;
  const credential = createHmac('sha1', turn.secret).update(username).digest('base64');
  return { urls: [...turn.urls], username, credential };
}

/** What a joining user is given: the configured ICE servers, plus the TURN relay with fresh credentials. */
export function iceServersFor(config: Pick<RoomsConfig, 'iceServers' | 'turn'>, userId: string, now: Date): IceServer[] {
  return [...config.iceServers, ...(config.turn ? [turnCredentials(config.turn, userId, now)] : [])];
}
