import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';

/**
 * Outbound guard for webhooks (SSRF): a subscriber must not make the server
 * call loopback, private, link-local or unspecified addresses. The check runs
 * on the address the name RESOLVES to, inside the socket's `lookup`, so a DNS
 * answer that changes between creation and delivery (rebinding) is caught too.
 */
const forbidden = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) forbidden.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) forbidden.addSubnet(net, bits, 'ipv6');

/** An allowlist from `WEBHOOK_ALLOWED_HOSTS`: IPs, CIDRs (a.b.c.d/n, x::/n) and host names. */
export interface EgressAllow { ips: BlockList; hosts: Set<string> }

export function parseAllowlist(raw: string): EgressAllow {
  const ips = new BlockList();
  const hosts = new Set<string>();
  for (const item of raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const [addr, bits] = item.split('/');
    const family = isIP(addr!);
    if (family === 0) hosts.add(item);
    else if (bits !== undefined) ips.addSubnet(addr!, Number(bits), family === 6 ? 'ipv6' : 'ipv4');
    else ips.addAddress(addr!, family === 6 ? 'ipv6' : 'ipv4');
  }
  return { ips, hosts };
}

function unmapped(ip: string): { ip: string; type: 'ipv4' | 'ipv6' } {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (m) return { ip: m[1]!, type: 'ipv4' };
  return { ip, type: isIP(ip) === 6 ? 'ipv6' : 'ipv4' };
}

/** True when the address may not be called (and is not allowlisted). */
export function isForbiddenAddress(address: string, allow: EgressAllow): boolean {
  const { ip, type } = unmapped(address);
  if (allow.ips.check(ip, type)) return false;
  return forbidden.check(ip, type);
}

/** The literal IP of a URL's host, or null when it is a name. */
export function literalHost(url: URL): string | null {
  const h = url.hostname.replace(/^\[|\]$/g, '');
  return isIP(h) ? h : null;
}

export class EgressRefused extends Error {}

/** POSTs `body` to `url`, refusing forbidden resolved addresses; redirects are not followed. */
export function guardedPost(
  url: string,
  init: { headers: Record<string, string>; body: string; timeoutMs: number },
  allow: EgressAllow,
): Promise<{ status: number }> {
  const target = new URL(url);
  const hostAllowed = allow.hosts.has(target.hostname.toLowerCase());
  const lookup = (hostname: string, options: object, cb: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, '');
      const list = addresses as LookupAddress[];
      const bad = hostAllowed ? undefined : list.find((a) => isForbiddenAddress(a.address, allow));
      if (bad) return cb(new EgressRefused(`webhook destination ${hostname} resolves to a forbidden address (${bad.address})`), '');
      if ((options as { all?: boolean }).all) return cb(null, list);
      cb(null, list[0]!.address, list[0]!.family);
    });
  };
  const literal = literalHost(target);
  if (literal && !hostAllowed && isForbiddenAddress(literal, allow)) {
    return Promise.reject(new EgressRefused(`webhook destination ${literal} is a forbidden address`));
  }
  const mod = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(target, { method: 'POST', headers: { ...init.headers, 'content-length': Buffer.byteLength(init.body) }, lookup, agent: false, timeout: init.timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('webhook request timed out')));
    req.on('error', reject);
    req.end(init.body);
  });
}
