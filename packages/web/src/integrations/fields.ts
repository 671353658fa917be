import type { CatalogField, Provider } from '../api/types';

/** The names the authorize endpoint accepts besides a label (a store domain, a region…). */
export const AUTHORIZE_PARAMS = ['shop', 'region', 'marketplaceId'] as const;

export const isOAuth = (p: Provider) => p.authMode === 'oauth2' || p.authMode === 'lwa_oauth2';

/** Every field a connect form asks for: credentials first, then configuration. */
export const formFields = (p: Provider): CatalogField[] => [...p.credentialFields, ...p.configFields];

/**
 * The credentials API speaks apiKey / apiSecret / additionalConfig (the server's fields.ts):
 * apiKey is the field named apiKey, else the first secret; apiSecret the field named apiSecret,
 * else the next secret; every other field goes by its catalog name.
 */
export function credentialBody(p: Provider, values: Record<string, string>) {
  const primary = p.credentialFields.find((f) => f.name === 'apiKey') ?? p.credentialFields.find((f) => f.secret);
  const secondary = p.credentialFields.find((f) => f.name === 'apiSecret') ?? p.credentialFields.find((f) => f.secret && f !== primary);
  const additionalConfig: Record<string, string> = {};
  for (const f of formFields(p)) {
    const v = values[f.name]?.trim();
    if (!v || f === primary || f === secondary) continue;
    additionalConfig[f.name] = v;
  }
  return {
    apiKey: primary ? values[primary.name]?.trim() ?? '' : '',
    ...(secondary && values[secondary.name]?.trim() ? { apiSecret: values[secondary.name]!.trim() } : {}),
    ...(Object.keys(additionalConfig).length > 0 ? { additionalConfig } : {}),
  };
}

/** The catalog's own rule for a value: required, then its pattern. */
export function fieldError(f: CatalogField, value: string | undefined): string | null {
  const v = value?.trim() ?? '';
  if (!v) return f.required ? `Enter the ${f.label.toLowerCase()}` : null;
  if (f.pattern && !new RegExp(f.pattern).test(v)) return f.example ? `Not the format of a ${f.label.toLowerCase()}, e.g. ${f.example}` : 'Not the expected format';
  return null;
}

export const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
