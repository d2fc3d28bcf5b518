import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/**
 * The client's address of a raw request, exactly as Fastify's `request.ip` has it
 * with `trustProxy: TRUST_PROXY` (the same library, the same rule): the TCP peer,
 * unless the peer is a configured proxy, then the address that proxy forwarded
 * (walking X-Forwarded-For back through trusted proxies only). Sockets use it for
 * their per-address cap: a socket's handshake address is always the TCP peer,
 * which behind a proxy is the proxy itself (every client sharing one cap), and
 * believing X-Forwarded-For from anyone would let each socket claim a fresh one.
 */
export function clientAddressOf(trustProxy: readonly string[]): (req: IncomingMessage) => string {
  if (trustProxy.length === 0) return (req) => req.socket.remoteAddress ?? '';
  const trusted = proxyAddr.compile([...trustProxy]);
  return (req) => proxyAddr(req, trusted);
}
