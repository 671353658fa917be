import type { IncomingHttpHeaders } from 'node:http';
import { AppError } from '../../platform/errors.js';
import { adapterFor } from '../../providers/registry.js';
import type { Provider } from '../catalog/catalog.js';
import type { InUse } from '../connections/connections.service.js';
import { buildProviderRequest, defaultHeaderNames, providerBaseUrl } from '../connections/provider-request.js';
import { assertUnderBase, forwardableRequestHeaders } from './headers.js';

/** A provider request ready to send: its URL and every header (client's, injected, defaults). */
export type Target = { url: string; headers: Record<string, string> };

/**
 * What every call on one version of a connection shares: the base URL (parsed once) and the
 * injected headers, split into those Keyhold always sets and the catalog defaults a client may
 * override. Filling templates and building these per request was a measurable share of a proxy
 * call's CPU; they depend only on the catalog entry and the connection's config and secrets.
 */
type Prepared = { base: string; origin: string; basePath: string; enforced: Record<string, string>; fallback: Record<string, string> };

/**
 * Keyed by the decrypted secrets object: the warm connection cache hands out the same object until
 * the connection changes (any change re-reads and re-decrypts it), so an entry can never outlive
 * its credentials, and it goes with them when the cache drops them. The provider and the row's
 * version are checked too, so a reused object with other config is never served stale headers.
 */
const prepared = new WeakMap<object, { provider: Provider; version: string; value: Prepared }>();
const defaultNames = new WeakMap<Provider, Set<string>>();

const versionOf = (conn: InUse) => `${conn.row.id}\u0000${conn.row.credential_version}\u0000${new Date(conn.row.updated_at).getTime()}`;

function defaultsOf(provider: Provider): Set<string> {
  let names = defaultNames.get(provider);
  if (!names) defaultNames.set(provider, (names = new Set(defaultHeaderNames(provider))));
  return names;
}

function prepare(provider: Provider, conn: InUse): Prepared | null {
  const version = versionOf(conn);
  const hit = prepared.get(conn.secrets);
  if (hit && hit.provider === provider && hit.version === version) return hit.value;
  const values = { config: conn.row.config, secrets: conn.secrets };
  let base: string;
  let injected: Record<string, string>;
  try {
    base = providerBaseUrl(provider, values);
    injected = buildProviderRequest(provider, values, '').headers;
  } catch {
    return null; // the full build below answers with the precise error
  }
  const b = new URL(base);
  const defaults = defaultsOf(provider);
  const value: Prepared = { base, origin: b.origin, basePath: b.pathname.replace(/\/+$/, ''), enforced: {}, fallback: {} };
  for (const [name, v] of Object.entries(injected)) (defaults.has(name) ? value.fallback : value.enforced)[name] = v;
  prepared.set(conn.secrets, { provider, version, value });
  return value;
}

/**
 * The provider request for this connection: the client's path and query as written (never
 * templated), credentials only where the catalog injects them, the URL kept under the base URL.
 * Providers that sign each request (the adapter's `sign`) are built in full every time.
 */
export function providerTarget(provider: Provider, conn: InUse, path: string, client: IncomingHttpHeaders): Target {
  const p = adapterFor(provider).request?.sign ? null : prepare(provider, conn);
  if (!p) return fullTarget(provider, conn, path, client);
  let url: URL;
  try {
    url = new URL(`${p.base}${path}`);
  } catch {
    throw new AppError('VALIDATION_FAILED', `path: does not make a valid ${provider.displayName} URL`);
  }
  if (url.origin !== p.origin || !(url.pathname === p.basePath || url.pathname.startsWith(`${p.basePath}/`))) {
    throw new AppError('VALIDATION_FAILED', "path: leaves the provider's API");
  }
  return { url: url.href, headers: { ...p.fallback, ...forwardableRequestHeaders(client, p.enforced), ...p.enforced } };
}

function fullTarget(provider: Provider, conn: InUse, path: string, client: IncomingHttpHeaders): Target {
  const values = { config: conn.row.config, secrets: conn.secrets };
  const built = buildProviderRequest(provider, values, path);
  assertUnderBase(built.url, providerBaseUrl(provider, values));
  return { url: built.url, headers: withClientDefaults(provider, client, built.headers) };
}

/** The client's headers (those it may send), Keyhold's injection on top; a catalog default only where the client sent none. */
function withClientDefaults(provider: Provider, client: IncomingHttpHeaders, injected: Record<string, string>): Record<string, string> {
  const defaults = defaultsOf(provider);
  const enforced = Object.fromEntries(Object.entries(injected).filter(([name]) => !defaults.has(name)));
  const fallback = Object.fromEntries(Object.entries(injected).filter(([name]) => defaults.has(name)));
  return { ...fallback, ...forwardableRequestHeaders(client, enforced), ...enforced };
}
