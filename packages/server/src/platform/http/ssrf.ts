import type { LookupAddress } from 'node:dns';
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.js';

/** The four bytes of an IPv4 address. */
const v4 = (bytes: number[]) => new ipaddr.IPv4(bytes.slice(0, 4));

/**
 * RFC 6052 places the IPv4 address right after the translation prefix, skipping bits 64–71.
 * The local-use prefix 64:ff9b:1::/48 (RFC 8215) may be deployed with any prefix length from
 * /48 to /96 and Keyhold cannot know which, so every layout is read.
 */
function rfc6052Embedded(bytes: number[], prefixBits: number) {
  const tail = bytes.slice(prefixBits / 8).filter((_, i) => prefixBits / 8 + i !== 8);
  return v4(tail);
}

/**
 * The IPv4 addresses an IPv6 address carries and that traffic to it ends up reaching, or null
 * when it carries none: IPv4-mapped, IPv4-compatible (deprecated, ::a.b.c.d), IPv4-translated,
 * NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002:V4::/48) and Teredo (2001:0::/32: the
 * server's address, and the client's XORed with 0xffffffff).
 */
export function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4[] | null {
  const b = addr.toByteArray();
  const p = addr.parts;
  if (p.slice(0, 5).every((x) => x === 0) && (p[5] === 0 || p[5] === 0xffff)) return [v4(b.slice(12))];
  if (p.slice(0, 4).every((x) => x === 0) && p[4] === 0xffff && p[5] === 0) return [v4(b.slice(12))];
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return [v4(b.slice(12))];
  if (p[0] === 0x64 && p[1] === 0xff9b && p[2] === 1) return [48, 56, 64, 96].map((len) => rfc6052Embedded(b, len));
  if (p[0] === 0x2002) return [v4(b.slice(2, 6))];
  if (p[0] === 0x2001 && p[1] === 0) return [v4(b.slice(4, 8)), v4(b.slice(12).map((x) => x ^ 0xff))];
  return null;
}

/**
 * Public means ipaddr.js classifies it as plain 'unicast': loopback, private, link-local (cloud
 * metadata), CGNAT, unique-local, multicast, documentation, benchmarking and reserved ranges are
 * not. An IPv6 address carrying an IPv4 address is exactly as public as that IPv4 address (so a
 * DNS64 answer for a public service passes, and [64:ff9b::7f00:1] does not).
 */
export function isPublicAddress(ip: string): boolean {
  if (!ipaddr.isValid(ip)) return false;
  const addr = ipaddr.parse(ip);
  if (addr.kind() === 'ipv4') return addr.range() === 'unicast';
  const carried = embeddedIPv4(addr as ipaddr.IPv6);
  if (carried) return carried.every((a) => a.range() === 'unicast');
  return addr.range() === 'unicast';
}

/** How a host name becomes addresses (node's `dns.promises.lookup` by default; tests give their own). */
export type Resolve = (hostname: string, options: { all: true; family?: number; hints?: number }) => Promise<LookupAddress[]>;

const refuse = (field: string, why: string) => new AppError('VALIDATION_FAILED', `${field}: ${why}`);

/**
 * A URL supplied by a tenant (custom providers) must be https and resolve only to public
 * addresses, unless the operator allows private ones (KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS).
 * Checked when saved and again before each request, for a clear 400; since DNS may answer
 * differently when the request connects, requests go through `createPublicOnlyDispatcher`
 * (public-dispatcher.ts), which judges the addresses it actually connects to.
 */
export async function assertPublicHttpsUrl(raw: string, opts: { field: string; allowPrivate?: boolean; resolve?: Resolve }): Promise<URL> {
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
  const resolve: Resolve = opts.resolve ?? lookup;
  const addresses = ipaddr.isValid(host) ? [host] : (await resolve(host, { all: true }).catch(() => [])).map((a) => a.address);
  if (addresses.length === 0) throw refuse(opts.field, 'does not resolve');
  if (!addresses.every(isPublicAddress)) throw refuse(opts.field, 'must be a public address (loopback, private, link-local and metadata addresses are refused)');
  return url;
}
