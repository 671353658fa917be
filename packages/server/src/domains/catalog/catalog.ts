import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { AppError } from '../../platform/errors.js';

export const CATALOG_DIR = fileURLToPath(new URL('../../../catalog', import.meta.url));

export const CATEGORIES = ['Accounting', 'E-commerce', 'ERP', 'Payments', 'Email', 'Media', 'AI', 'Messaging', 'Support', 'EDI', 'Custom'] as const;

export type CatalogField = {
  name: string; label: string; secret: boolean; required?: boolean; pattern?: string; example?: string; help?: string;
  /** A non-secret field that decides where or how the secrets are sent, beyond what the templates show. */
  destination?: boolean;
};

/** One provider, as `catalog/providers/<id>.yaml` describes it (validated by provider.schema.json). */
export type Provider = {
  id: string;
  displayName: string;
  category: (typeof CATEGORIES)[number];
  description?: string;
  docsUrl?: string;
  authMode: 'oauth2' | 'api_key' | 'basic' | 'hmac_unleashed' | 'lwa_oauth2' | 'custom';
  baseUrl: string;
  credentialFields: CatalogField[];
  configFields?: CatalogField[];
  inject: { headers?: Record<string, string>; basicAuth?: { username: string; password: string }; scheme?: 'unleashed_hmac' };
  verify?: { method: 'GET' | 'POST'; path: string; expectStatus?: number[]; expectJson?: Record<string, unknown> };
  rateLimits?: { perSecond?: number; burst?: number; perMinute?: number; perHour?: number; perDay?: number; concurrent?: number; notes?: string };
  webhooks?: { scheme: string; signatureHeader?: string; routingKey: string };
  oauth?: OAuthSpec;
};

export type OAuthSpec = {
  authorizeUrl: string;
  tokenUrl: string;
  revokeUrl?: string;
  scopes: string[];
  /** PKCE S256 unless the provider refuses it. */
  pkce?: boolean;
  clientAuth?: 'basic' | 'post';
  /** Refresh this long before the access token expires (default 300 s). */
  refreshMarginSeconds?: number;
  accessTokenTtlSeconds?: number;
  /** Provider-specific steps around the standard code flow (see domains/oauth/flows.ts). */
  flow?: 'standard' | 'xero' | 'quickbooks' | 'shopify' | 'amazon_lwa' | 'messenger' | 'slack';
  scopeSeparator?: string;
  /** How long a used refresh token stays valid at the provider (rotation grace window). */
  refreshTokenGraceSeconds?: number;
  revokeFormat?: 'form' | 'json';
  /** The config field that identifies the provider account (webhook routing key; unique across tenants). */
  routingKeyField?: string;
  refreshNotes?: string;
  /** Extra authorize parameters the provider needs (e.g. `prompt: consent` to get a refresh token). */
  authorizeParams?: Record<string, string>;
};

export class CatalogError extends Error {
  override name = 'CatalogError';
}

/**
 * Reads and validates every provider file; a bad entry stops start with the file and the path
 * inside it named. `baseUrlOverrides` (from KEYHOLD_PROVIDER_<ID>_BASE_URL) point providers at the
 * sandbox in tests and the demo, or at a regional endpoint in production.
 */
export function loadCatalog(opts: { dir?: string; baseUrlOverrides?: Record<string, string>; authUrlOverrides?: Record<string, string> } = {}) {
  const dir = opts.dir ?? CATALOG_DIR;
  const schema = JSON.parse(readFileSync(path.join(dir, 'provider.schema.json'), 'utf8'));
  const validate = new Ajv({ allErrors: true, strict: false }).compile<Provider>(schema);
  const providers = new Map<string, Provider>();
  for (const file of readdirSync(path.join(dir, 'providers')).filter((f) => f.endsWith('.yaml')).sort()) {
    const entry = parse(readFileSync(path.join(dir, 'providers', file), 'utf8')) as unknown;
    if (!validate(entry)) {
      const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      throw new CatalogError(`catalog/providers/${file}: ${problems}`);
    }
    if (`${entry.id}.yaml` !== file) throw new CatalogError(`catalog/providers/${file}: id '${entry.id}' must match the file name`);
    for (const f of [...entry.credentialFields, ...(entry.configFields ?? [])]) {
      if (f.pattern) {
        try {
          new RegExp(f.pattern);
        } catch {
          throw new CatalogError(`catalog/providers/${file}: field '${f.name}' has an invalid pattern`);
        }
      }
    }
    providers.set(entry.id, entry);
  }
  for (const [id, url] of Object.entries(opts.baseUrlOverrides ?? {})) {
    const p = providers.get(id);
    if (!p) throw new CatalogError(`KEYHOLD_PROVIDER_${id.toUpperCase().replaceAll('-', '_')}_BASE_URL: no provider '${id}' in the catalog`);
    providers.set(id, { ...p, baseUrl: url.replace(/\/+$/, '') });
  }
  for (const [id, origin] of Object.entries(opts.authUrlOverrides ?? {})) {
    const p = providers.get(id);
    if (!p?.oauth) throw new CatalogError(`KEYHOLD_PROVIDER_${id.toUpperCase().replaceAll('-', '_')}_AUTH_URL: no OAuth provider '${id}' in the catalog`);
    providers.set(id, { ...p, oauth: rebaseOAuth(p.oauth, origin.replace(/\/+$/, '')) });
  }
  return {
    /** Throws 400 UNKNOWN_PROVIDER for an id the catalog does not have. */
    get(id: string): Provider {
      const p = providers.get(id);
      if (!p) throw new AppError('UNKNOWN_PROVIDER', 400, `Unknown provider '${id}'. GET /api/providers lists the supported ones`);
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
