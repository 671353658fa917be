import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../errors.js';

/** Addresses a tenant-supplied URL must never reach: loopback, private, link-local (cloud metadata), CGNAT, multicast… */
const blocked = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) {
  blocked.addSubnet(net, prefix, 'ipv6');
}

function isBlockedAddress(ip: string): boolean {
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d or ::ffff:7f00:1) is judged by its IPv4 part.
  const mapped = /^::ffff:(.+)$/i.exec(ip)?.[1];
  if (mapped) {
    if (isIP(mapped) === 4) return blocked.check(mapped, 'ipv4');
    const [hi = '0', lo = '0'] = mapped.split(':');
    const n = (Number.parseInt(hi, 16) << 16) | Number.parseInt(lo, 16);
    return blocked.check([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'), 'ipv4');
  }
  return blocked.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

const refuse = (field: string, why: string) => new AppError('VALIDATION_FAILED', 400, `${field}: ${why}`);

/**
 * A URL supplied by a tenant (custom providers) must be https and resolve only to public
 * addresses, unless the operator allows private ones (KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS).
 * Checked when saved and again before each request (DNS may change in between).
 */
export async function assertPublicHttpsUrl(raw: string, opts: { field: string; allowPrivate?: boolean; resolve?: typeof lookup }): Promise<URL> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refuse(opts.field, 'is not a URL');
  }
  if (url.protocol !== 'https:' && !opts.allowPrivate) throw refuse(opts.field, 'must use https');
  if (url.username || url.password) throw refuse(opts.field, 'must not contain credentials');
  if (opts.allowPrivate) return url;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost') || host === 'metadata.google.internal') throw refuse(opts.field, 'must be a public address');
  const addresses = isIP(host) ? [host] : (await (opts.resolve ?? lookup)(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (addresses.length === 0) throw refuse(opts.field, 'does not resolve');
  if (addresses.some(isBlockedAddress)) throw refuse(opts.field, 'must be a public address (loopback, private, link-local and metadata addresses are refused)');
  return url;
}
