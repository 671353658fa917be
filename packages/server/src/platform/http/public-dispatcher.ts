import type { LookupAddress, LookupOptions } from 'node:dns';
import { lookup } from 'node:dns/promises';
import { type LookupFunction, isIP } from 'node:net';
import { Agent, type Dispatcher, buildConnector } from 'undici';
import { AppError } from '../errors.js';
import { type Resolve, assertPublicHttpsUrl, isPublicAddress } from './ssrf.js';

/**
 * Refused at connect time. A 400 VALIDATION_FAILED like the check before the call, not a 5xx:
 * the host the tenant configured answers with a non-public address, which retrying will not
 * change and which says nothing about the provider's health (so it never feeds the proxy's
 * retries or circuit breaker). The address itself is not named: it would let a tenant map
 * internal DNS.
 */
export const notPublicAtConnect = (field: string) =>
  new AppError('VALIDATION_FAILED', `${field}: must be a public address (the host resolved to a loopback, private, link-local or metadata address when Keyhold connected)`);

/**
 * A `lookup` for net/tls connect that resolves the host itself and hands the socket only the
 * addresses it judged, so the address checked is the address connected to (a zero-TTL name cannot
 * answer a public address to the check and 169.254.169.254 to the connection). If any answer is
 * not public the whole lookup fails, unless the operator allows private addresses.
 */
export function publicOnlyLookup(opts: { field: string; allowPrivate?: boolean; resolve?: Resolve }): LookupFunction {
  const resolve: Resolve = opts.resolve ?? lookup;
  return (hostname: string, options: LookupOptions, callback) => {
    // The callback runs outside the promise chain, as node's own lookup does, so nothing it throws is swallowed.
    const answer = (...args: Parameters<typeof callback>) => process.nextTick(() => callback(...args));
    const family = typeof options.family === 'number' && options.family !== 0 ? { family: options.family } : {};
    resolve(hostname, { all: true, ...family, ...(options.hints ? { hints: options.hints } : {}) }).then(
      (addresses: LookupAddress[]) => {
        if (addresses.length === 0) return answer(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname }), '');
        if (!opts.allowPrivate && !addresses.every((a) => isPublicAddress(a.address))) return answer(notPublicAtConnect(opts.field), '');
        if (options.all) return answer(null, addresses);
        return answer(null, addresses[0]!.address, addresses[0]!.family);
      },
      (err: NodeJS.ErrnoException) => answer(err, ''),
    );
  };
}

/**
 * The HTTP client for URLs a tenant supplied (custom providers' base URLs): every connection
 * it opens goes to an address it has just judged public. Node connects to an IP literal without
 * calling `lookup`, so literals are judged before connecting.
 */
export function createPublicOnlyDispatcher(opts: { field: string; allowPrivate?: boolean; resolve?: Resolve }): Dispatcher {
  const connect = buildConnector({ lookup: publicOnlyLookup(opts) });
  return new Agent({
    connect: (options, callback) => {
      if (!opts.allowPrivate && isIP(options.hostname) && !isPublicAddress(options.hostname)) return callback(notPublicAtConnect(opts.field), null);
      return connect(options, callback);
    },
  });
}

/**
 * Everything that sends to a tenant-supplied URL uses both: `check` for a clear 400 when the URL
 * is saved and before each call (https, no credentials, public addresses), `dispatcher` to send,
 * so the check also holds for the connection itself.
 */
export function createTenantUrlGuard(opts: { allowPrivate: boolean; resolve?: Resolve; field?: string }) {
  const field = opts.field ?? 'baseUrl';
  const dispatcher = createPublicOnlyDispatcher({ field, allowPrivate: opts.allowPrivate, ...(opts.resolve ? { resolve: opts.resolve } : {}) });
  return {
    dispatcher,
    check: (url: string, checkedField = field) => assertPublicHttpsUrl(url, { field: checkedField, allowPrivate: opts.allowPrivate, ...(opts.resolve ? { resolve: opts.resolve } : {}) }),
  };
}
export type TenantUrlGuard = ReturnType<typeof createTenantUrlGuard>;
