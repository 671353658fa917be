import { z } from 'zod';
import { AppError } from '../../platform/errors.js';
import type { CatalogField, Provider } from '../catalog/catalog.js';

/** A connection's label: several accounts of one provider (two stores of one shop platform) are told apart by it. */
export const Label = z.string().trim().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/, 'letters, digits, space, . _ -; up to 63 characters');

/**
 * The credentials API speaks `apiKey` / `apiSecret` / `additionalConfig`; the catalog names each
 * provider's fields. `apiKey` is the field named apiKey, else the first secret field (an access
 * token); `apiSecret` is the field named apiSecret, else the next secret field. Every other
 * credential or config field comes from `additionalConfig` by its catalog name.
 */
export function primaryField(p: Provider): CatalogField {
  return p.credentialFields.find((f) => f.name === 'apiKey') ?? p.credentialFields.find((f) => f.secret)!;
}

export function secondaryField(p: Provider): CatalogField | undefined {
  const primary = primaryField(p);
  return p.credentialFields.find((f) => f.name === 'apiSecret') ?? p.credentialFields.find((f) => f.secret && f !== primary);
}

export type CredentialInput = { apiKey?: string; apiSecret?: string; additionalConfig?: Record<string, unknown> };
export type SplitInput = { credentials: Record<string, string>; config: Record<string, string> };

const invalid = (field: string, rule: string) => new AppError('VALIDATION_FAILED', `${field}: ${rule}`);

/** Splits and validates input against the catalog; `partial` for updates (only what is given). */
export function splitInput(p: Provider, input: CredentialInput, opts: { partial?: boolean } = {}): SplitInput {
  const primary = primaryField(p);
  const secondary = secondaryField(p);
  const credentials: Record<string, string> = {};
  const config: Record<string, string> = {};
  if (input.apiKey !== undefined) credentials[primary.name] = input.apiKey;
  if (input.apiSecret !== undefined) {
    if (!secondary) throw invalid('apiSecret', `${p.displayName} has no secondary secret`);
    credentials[secondary.name] = input.apiSecret;
  }
  const credentialNames = new Map(p.credentialFields.map((f) => [f.name, f]));
  const configNames = new Map((p.configFields ?? []).map((f) => [f.name, f]));
  for (const [key, value] of Object.entries(input.additionalConfig ?? {})) {
    const where = credentialNames.has(key) ? credentials : configNames.has(key) ? config : undefined;
    if (!where) throw invalid(`additionalConfig.${key}`, `not a field of ${p.displayName}; expected one of ${[...credentialNames.keys(), ...configNames.keys()].join(', ')}`);
    if (typeof value !== 'string' || value.length === 0 || value.length > 4096) throw invalid(`additionalConfig.${key}`, 'must be a non-empty string');
    where[key] = value;
  }
  // A new connection pins the catalog's default (an API version) so a later catalog change leaves it as it is.
  if (!opts.partial) for (const f of p.configFields ?? []) if (f.default !== undefined && config[f.name] === undefined) config[f.name] = f.default;
  const check = (fields: CatalogField[], values: Record<string, string>, prefix: (f: CatalogField) => string) => {
    for (const f of fields) {
      const v = values[f.name];
      if (v === undefined) {
        if (!opts.partial && f.required !== false) throw invalid(prefix(f), `required for ${p.displayName}`);
        continue;
      }
      if (f.pattern && !new RegExp(f.pattern).test(v)) {
        // Never echo the value: it may be a secret.
        throw invalid(prefix(f), `does not look like a ${p.displayName} ${f.label.toLowerCase()}${f.example ? ` (e.g. ${f.example})` : ''}`);
      }
    }
  };
  const credPrefix = (f: CatalogField) => (f === primary ? 'apiKey' : f === secondary ? 'apiSecret' : `additionalConfig.${f.name}`);
  check(p.credentialFields, credentials, credPrefix);
  check(p.configFields ?? [], config, (f) => `additionalConfig.${f.name}`);
  return { credentials, config };
}
