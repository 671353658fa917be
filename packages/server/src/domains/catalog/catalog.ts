import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { AppError } from '../../platform/errors.js';
import { type OAuthSpec, type Provider, validateProvider } from './catalog.schema.js';

export { CATEGORIES, type CatalogField, type OAuthSpec, type Provider } from './catalog.schema.js';

export const CATALOG_DIR = fileURLToPath(new URL('../../../catalog', import.meta.url));

export class CatalogError extends Error {
  override name = 'CatalogError';
}

/** The catalog's template language: `{{field}}` names a credential or config field. */
export const PLACEHOLDER = /\{\{([a-zA-Z][a-zA-Z0-9_]*)\}\}/g;
export const placeholdersOf = (template: string): string[] => [...template.matchAll(PLACEHOLDER)].map((m) => m[1]!);

/** OAuth connections hold their tokens under these names, next to the catalog's credential fields. */
const TOKEN_NAMES = ['accessToken', 'refreshToken'];

/**
 * Where a placeholder may point. URLs (base URL, verify path, OAuth endpoints) and header names
 * take non-secret config only, so no entry can put a secret into a URL; injected header values
 * and Basic auth may use any declared field. Returns the first problem, or null.
 */
export function templateProblem(p: Pick<Provider, 'baseUrl' | 'credentialFields' | 'configFields' | 'inject' | 'verify' | 'oauth'>): string | null {
  const credentials = new Set([...p.credentialFields.map((f) => f.name), ...(p.oauth ? TOKEN_NAMES : [])]);
  const config = p.configFields ?? [];
  const clash = config.find((f) => credentials.has(f.name));
  if (clash) return `config field '${clash.name}' has the name of a credential`;
  const urlSafe = new Set(config.filter((f) => !f.secret).map((f) => f.name));
  const declared = new Set([...credentials, ...config.map((f) => f.name)]);
  const urls: Array<[string, string | undefined]> = [
    ['baseUrl', p.baseUrl], ['verify.path', p.verify?.path],
    ['oauth.authorizeUrl', p.oauth?.authorizeUrl], ['oauth.tokenUrl', p.oauth?.tokenUrl], ['oauth.revokeUrl', p.oauth?.revokeUrl],
    ...Object.keys(p.inject.headers ?? {}).map((name): [string, string] => [`inject.headers name '${name}'`, name]),
    // A header the client may replace carries nothing secret.
    ...Object.entries(p.inject.defaultHeaders ?? {}).flatMap(([name, value]): Array<[string, string]> => [[`inject.defaultHeaders name '${name}'`, name], [`inject.defaultHeaders '${name}'`, value]]),
  ];
  for (const [where, template] of urls) {
    const bad = placeholdersOf(template ?? '').find((n) => !urlSafe.has(n));
    if (bad) return `${where} may only name non-secret config fields, not '${bad}'`;
  }
  const values = [...Object.values(p.inject.headers ?? {}), p.inject.basicAuth?.username ?? '', p.inject.basicAuth?.password ?? ''];
  const unknown = values.flatMap(placeholdersOf).find((n) => !declared.has(n));
  return unknown ? `inject names '${unknown}', which is not a field of this provider` : null;
}

/**
 * Reads and validates every provider file; a bad entry stops start with the file and the path
 * inside it named. `baseUrlOverrides` (from KEYHOLD_PROVIDER_<ID>_BASE_URL) point providers at the
 * sandbox in tests and the demo, or at a regional endpoint in production.
 */
export function loadCatalog(opts: { dir?: string; baseUrlOverrides?: Record<string, string>; authUrlOverrides?: Record<string, string> } = {}) {
  const dir = opts.dir ?? CATALOG_DIR;
  const providers = new Map<string, Provider>();
  for (const file of readdirSync(path.join(dir, 'providers')).filter((f) => f.endsWith('.yaml')).sort()) {
    const checked = validateProvider(parse(readFileSync(path.join(dir, 'providers', file), 'utf8')));
    if (!checked.ok) throw new CatalogError(`catalog/providers/${file}: ${checked.problems}`);
    const entry = checked.provider;
    if (`${entry.id}.yaml` !== file) throw new CatalogError(`catalog/providers/${file}: id '${entry.id}' must match the file name`);
    const problem = templateProblem(entry);
    if (problem) throw new CatalogError(`catalog/providers/${file}: ${problem}`);
    providers.set(entry.id, entry);
  }
  const override = (id: string, what: 'BASE' | 'AUTH', p: Provider) => {
    const name = `KEYHOLD_PROVIDER_${id.toUpperCase().replaceAll('-', '_')}_${what}_URL`;
    const problem = templateProblem(p);
    if (problem) throw new CatalogError(`${name}: ${problem}`);
    providers.set(id, p);
  };
  for (const [id, url] of Object.entries(opts.baseUrlOverrides ?? {})) {
    const p = providers.get(id);
    if (!p) throw new CatalogError(`KEYHOLD_PROVIDER_${id.toUpperCase().replaceAll('-', '_')}_BASE_URL: no provider '${id}' in the catalog`);
    override(id, 'BASE', { ...p, baseUrl: url.replace(/\/+$/, '') });
  }
  for (const [id, origin] of Object.entries(opts.authUrlOverrides ?? {})) {
    const p = providers.get(id);
    if (!p?.oauth) throw new CatalogError(`KEYHOLD_PROVIDER_${id.toUpperCase().replaceAll('-', '_')}_AUTH_URL: no OAuth provider '${id}' in the catalog`);
    override(id, 'AUTH', { ...p, oauth: rebaseOAuth(p.oauth, origin.replace(/\/+$/, '')) });
  }
  return {
    /** Throws 400 UNKNOWN_PROVIDER for an id the catalog does not have. */
    get(id: string): Provider {
      const p = providers.get(id);
      if (!p) throw new AppError('UNKNOWN_PROVIDER', `Unknown provider '${id}'. GET /api/providers lists the supported ones`);
      return p;
    },
    list: (): Provider[] => [...providers.values()],
  };
}
export type Catalog = ReturnType<typeof loadCatalog>;

/** Keeps each OAuth URL's path and swaps its origin (`https://{{storeDomain}}` counts as one). */
function rebaseOAuth(oauth: OAuthSpec, origin: string): OAuthSpec {
  const rebase = (u: string) => origin + u.replace(/^https?:\/\/[^/]+/, '');
  return { ...oauth, authorizeUrl: rebase(oauth.authorizeUrl), tokenUrl: rebase(oauth.tokenUrl), ...(oauth.revokeUrl ? { revokeUrl: rebase(oauth.revokeUrl) } : {}) };
}
