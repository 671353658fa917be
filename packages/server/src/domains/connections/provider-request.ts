import { AppError } from '../../platform/errors.js';
import type { ConnectionValues } from '../../providers/adapter.js';
import { adapterFor } from '../../providers/registry.js';
import { PLACEHOLDER, type Provider } from '../catalog/catalog.js';

/**
 * Fills `{{field}}` placeholders from `values` (OAuth endpoint URLs, from non-secret config). A
 * missing value is a client-facing 400 naming the field, never its value and never a 500.
 */
export function fillTemplate(
  template: string,
  values: Record<string, string>,
  missing: (name: string) => AppError = (name) => new AppError('VALIDATION_FAILED', `${name}: this connection has no value for it`),
): string {
  return template.replace(PLACEHOLDER, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw missing(name);
    return v;
  });
}

/**
 * A connection's values, kept apart on purpose: secrets go only where the catalog's injection
 * puts them (headers, Basic auth, signatures), never into a URL.
 */
export type { ConnectionValues };

/**
 * What a URL template may be filled from: the connection's config fields the catalog declares
 * non-secret. A credential's name, or anything in the secrets object, is never among them, so a
 * base URL or verify path cannot carry a secret even if the catalog asked for one. A field the
 * connection lacks takes the catalog's default (connections saved before the field existed).
 */
function urlValues(provider: Provider, values: ConnectionValues): Record<string, string> {
  const credential = new Set([...provider.credentialFields.map((f) => f.name), ...Object.keys(values.secrets)]);
  const out: Record<string, string> = {};
  for (const f of provider.configFields ?? []) {
    const v = values.config[f.name] ?? f.default;
    if (!f.secret && !credential.has(f.name) && v !== undefined) out[f.name] = v;
  }
  return out;
}

/** Fills a catalog template; a value the connection lacks is a 400 naming the field (never a value). */
function fill(provider: Provider, template: string, values: Record<string, string>): string {
  return fillTemplate(template, values, (name) =>
    new AppError('VALIDATION_FAILED', `${name}: this ${provider.displayName} connection has no value for it; update the connection`, {
      actions: [{ label: `Update the ${provider.displayName} connection`, url: `/admin/integrations?provider=${provider.id}` }],
    }));
}

/**
 * The config field holding a base URL the tenant supplies (checked against SSRF where it is
 * used), or null when the base URL is the catalog's.
 */
export const tenantBaseUrlField = (provider: Provider): string | null => adapterFor(provider).request?.tenantBaseUrl?.field ?? null;

/** The provider's API base URL for this connection, without a trailing slash. */
export function providerBaseUrl(provider: Provider, values: ConnectionValues): string {
  const tenantField = tenantBaseUrlField(provider);
  const template = tenantField ? `{{${tenantField}}}` : provider.baseUrl;
  return fill(provider, template, urlValues(provider, values)).replace(/\/+$/, '');
}

/** A path the catalog wrote (the verify request): placeholders from non-secret config only. */
export function catalogPath(provider: Provider, values: ConnectionValues, template: string): string {
  return fill(provider, template, urlValues(provider, values));
}

/**
 * The URL and headers of a request to `provider` carrying the connection's credentials. `path`
 * (with its query) is appended to the base URL exactly as given: it is never templated, since it
 * may come from a client. Credentials are placed only by the catalog's injection (header
 * templates, HTTP Basic) or the provider's adapter (its own injection, per-request signatures).
 */
/**
 * Injected headers whose catalog value is a constant (an API version, say) are defaults, and so
 * is every `inject.defaultHeaders` entry (a version pinned per connection): a client that sends
 * its own value keeps it (an official SDK pins the version it speaks). Headers built from the
 * connection's credentials or account ids are always Keyhold's.
 */
export function defaultHeaderNames(provider: Provider): string[] {
  const constants = Object.entries(provider.inject.headers ?? {}).filter(([name, value]) => !/\{\{/.test(name) && !/\{\{/.test(value)).map(([name]) => name);
  return [...constants, ...Object.keys(provider.inject.defaultHeaders ?? {})].map((name) => name.toLowerCase());
}

/** `inject.defaultHeaders`, filled from non-secret config (or the catalog's defaults). */
function defaultHeaders(provider: Provider, values: ConnectionValues): Record<string, string> {
  const from = urlValues(provider, values);
  return Object.fromEntries(Object.entries(provider.inject.defaultHeaders ?? {}).map(([name, value]) => [name.toLowerCase(), fill(provider, value, from)]));
}

export function buildProviderRequest(provider: Provider, values: ConnectionValues, path: string): { url: string; headers: Record<string, string> } {
  let url: URL;
  try {
    url = new URL(`${providerBaseUrl(provider, values)}${path}`);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('VALIDATION_FAILED', `path: does not make a valid ${provider.displayName} URL`);
  }
  const all = { ...values.config, ...values.secrets };
  const hooks = adapterFor(provider).request;
  if (hooks?.inject) return { url: url.toString(), headers: { ...defaultHeaders(provider, values), ...hooks.inject(values, (template, from) => fill(provider, template, from)) } };
  const headers: Record<string, string> = defaultHeaders(provider, values);
  for (const [name, value] of Object.entries(provider.inject.headers ?? {})) headers[fill(provider, name, urlValues(provider, values)).toLowerCase()] = fill(provider, value, all);
  if (provider.inject.basicAuth) {
    const user = fill(provider, provider.inject.basicAuth.username, all);
    const pass = fill(provider, provider.inject.basicAuth.password, all);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  if (hooks?.sign) Object.assign(headers, hooks.sign({ url, values }));
  return { url: url.toString(), headers };
}
