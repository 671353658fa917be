import { createHmac } from 'node:crypto';
import type { Provider } from '../catalog/catalog.js';

/** Fills `{{field}}` placeholders from the connection's credentials and config. */
export function fillTemplate(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{([a-zA-Z][a-zA-Z0-9_]*)\}\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`missing value for {{${name}}}`);
    return v;
  });
}

/** Unleashed: base64(HMAC-SHA256(key = API key, message = the query string without '?')). */
export function unleashedSignature(apiKey: string, query: string): string {
  return createHmac('sha256', apiKey).update(query.replace(/^\?/, '')).digest('base64');
}

/**
 * The URL and headers of a request to `provider` carrying the connection's credentials, built
 * from the catalog entry (header templates, HTTP Basic, or the Unleashed per-request HMAC).
 */
export function buildProviderRequest(provider: Provider, values: Record<string, string>, path: string): { url: string; headers: Record<string, string> } {
  if (provider.authMode === 'custom') {
    // The tenant defined this API: base URL, header name and value template come from its config.
    const url = new URL(`${(values.baseUrl ?? '').replace(/\/+$/, '')}${path}`);
    return { url: url.toString(), headers: { [(values.headerName ?? 'authorization').toLowerCase()]: fillTemplate(values.headerTemplate ?? '{{apiKey}}', { apiKey: values.apiKey ?? '' }) } };
  }
  const base = fillTemplate(provider.baseUrl, values).replace(/\/+$/, '');
  const url = new URL(`${base}${fillTemplate(path, values)}`);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(provider.inject.headers ?? {})) headers[fillTemplate(name, values).toLowerCase()] = fillTemplate(value, values);
  if (provider.inject.basicAuth) {
    const user = fillTemplate(provider.inject.basicAuth.username, values);
    const pass = fillTemplate(provider.inject.basicAuth.password, values);
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  if (provider.inject.scheme === 'unleashed_hmac') headers['api-auth-signature'] = unleashedSignature(values.apiKey ?? '', url.search);
  return { url: url.toString(), headers };
}
