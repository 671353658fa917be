import { CatalogError, type Provider } from '../domains/catalog/catalog.js';
import type { ProviderAdapter } from './adapter.js';
import { ADAPTERS } from './registry.js';

/** A catalog field whose value picks code, and where an adapter says it implements that value. */
type Selector = {
  path: string;
  value(p: Provider): string | undefined;
  /** Values that are plain data: generic code handles them and no adapter may claim them. */
  generic: ReadonlyArray<string | undefined>;
  implemented(a: ProviderAdapter): string | undefined;
  /** Also needs this hook to be present. */
  hook?(a: ProviderAdapter): unknown;
  /** Checked only when that capability exists (its values have no implementations yet). */
  onlyWith?: 'webhooks';
};

const SELECTORS: Selector[] = [
  { path: 'oauth.flow', value: (p) => p.oauth && (p.oauth.flow ?? 'standard'), generic: [undefined, 'standard'], implemented: (a) => a.oauth?.flow },
  { path: 'oauth.revokeFormat', value: (p) => p.oauth && (p.oauth.revokeFormat ?? 'form'), generic: [undefined, 'form'], implemented: (a) => a.revoke?.format },
  { path: 'inject.scheme', value: (p) => p.inject.scheme, generic: [undefined], implemented: (a) => a.request?.scheme, hook: (a) => a.request?.sign },
  // These auth modes only name what the injection templates and OAuth data already say.
  { path: 'authMode', value: (p) => p.authMode, generic: ['oauth2', 'api_key', 'basic', 'hmac_unleashed', 'lwa_oauth2'], implemented: (a) => a.request?.authMode },
  { path: 'webhooks.scheme', value: (p) => p.webhooks?.scheme, generic: [undefined, 'none'], implemented: (a) => a.webhooks?.scheme, onlyWith: 'webhooks' },
];

export type AdapterCheckOptions = {
  adapters?: ReadonlyMap<string, ProviderAdapter>;
  /** Require webhook schemes to be implemented (the server always does; tests may leave it off). */
  webhooks?: boolean;
};

/**
 * Every catalog value that picks code must be implemented by the provider's adapter, and an
 * adapter may not implement a value its catalog entry does not state, nor name an action like one
 * of its syncs. Returns the problems,
 * each naming the catalog file, the field and the value.
 */
export function adapterProblems(providers: readonly Provider[], opts: AdapterCheckOptions = {}): string[] {
  const adapters = opts.adapters ?? ADAPTERS;
  const problems: string[] = [];
  for (const p of providers) {
    const adapter = adapters.get(p.id);
    const file = `catalog/providers/${p.id}.yaml`;
    const code = `providers/${p.id}/index.ts`;
    for (const s of SELECTORS) {
      const value = s.value(p);
      const claimed = adapter && s.implemented(adapter);
      if (s.generic.includes(value)) {
        if (claimed !== undefined) problems.push(`${code} implements ${s.path} '${claimed}', but ${file} does not say so (${s.path}: ${value ?? 'absent'})`);
        continue;
      }
      if (s.onlyWith === 'webhooks' && !opts.webhooks && claimed === undefined) continue;
      if (claimed !== value) problems.push(`${file}: ${s.path} '${value}' has no implementation in ${code}${claimed ? ` (it implements '${claimed}')` : ''}`);
      else if (s.hook && !s.hook(adapter!)) problems.push(`${file}: ${s.path} '${value}' is declared by ${code} but not implemented`);
    }
    // Actions and syncs are both rows of sync_runs under their name (history, one running at a time).
    for (const name of Object.keys(adapter?.actions ?? {})) {
      if (adapter?.syncs && Object.hasOwn(adapter.syncs, name)) problems.push(`${code}: '${name}' is both an action and a sync (they share the run history and its one-running rule)`);
    }
  }
  return problems;
}

/** Called by the composition root after the catalog is loaded: start stops on the first gap. */
export function assertAdaptersCoverCatalog(providers: readonly Provider[], opts: AdapterCheckOptions = {}): void {
  const problems = adapterProblems(providers, opts);
  if (problems.length) throw new CatalogError(problems.join('; '));
}
