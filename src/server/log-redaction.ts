import type { FastifyRequest } from 'fastify';

/**
 * What request logs may say about a URL: secrets carried in it are masked. The
 * calendar feed's secret is its file name (/calendar/<token>.ics), replay and
 * download links and clients that cannot set headers pass tokens in the query.
 */
const SECRET_QUERY = /([?&](?:token|access_token|accessToken|refresh_token|refreshToken|key|secret|signature|sig)=)[^&#]*/gi;
const FEED_FILE = /^(\/calendar\/)(?!feed(?:\/|$|\?))[^/?#]+/;

export function redactUrl(url: string): string {
  return url.replace(FEED_FILE, '$1[redacted]').replace(SECRET_QUERY, '$1[redacted]');
}

/** Pino options of the server: request URLs masked, credentials in headers never logged. */
export function loggerRedaction() {
  return {
    serializers: {
      req(req: FastifyRequest) {
        return { method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip, remotePort: req.socket?.remotePort };
      },
    },
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', 'authorization', 'token', 'refreshToken', 'accessToken'],
      censor: '[redacted]',
    },
  };
}
