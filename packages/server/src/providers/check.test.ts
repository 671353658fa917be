import { afterAll, describe, expect, it } from 'vitest';
import { CatalogError, type Provider, loadCatalog } from '../domains/catalog/catalog.js';
import { AUTH_MODES, INJECT_SCHEMES, OAUTH_FLOWS, REVOKE_FORMATS } from '../domains/catalog/catalog.schema.js';
import { nodeServices, testDb, testRing } from '../test-support/index.js';
import type { ProviderAdapter } from './adapter.js';
import { adapterProblems, assertAdaptersCoverCatalog } from './check.js';
import { ADAPTERS, adapterFor } from './registry.js';

const catalog = loadCatalog();
const entry = (id: string) => structuredClone(catalog.get(id));

/** The values the catalog's schema allows for a field (what an entry may say). */
const SCHEMA_ENUMS: Record<string, readonly string[]> = {
  'oauth.flow': OAUTH_FLOWS, 'oauth.revokeFormat': REVOKE_FORMATS, 'inject.scheme': INJECT_SCHEMES, authMode: AUTH_MODES,
};
const schemaEnum = (...at: string[]): string[] => [...SCHEMA_ENUMS[at.join('.')]!];
const implemented = (pick: (a: ProviderAdapter) => string | undefined) =>
  new Set([...ADAPTERS.values()].map(pick).filter((v): v is string => v !== undefined));

describe('every catalog value that picks code has an adapter implementation', () => {
  it('the catalog as shipped passes the start-time check', () => {
    expect(adapterProblems(catalog.list())).toEqual([]);
    expect(() => assertAdaptersCoverCatalog(catalog.list())).not.toThrow();
  });

  it('every value the schema allows for oauth.flow, oauth.revokeFormat, inject.scheme and authMode is implemented (or plain data)', () => {
    expect(schemaEnum('oauth', 'flow').filter((v) => v !== 'standard').sort()).toEqual([...implemented((a) => a.oauth?.flow)].sort());
    expect(schemaEnum('oauth', 'revokeFormat').filter((v) => v !== 'form').sort()).toEqual([...implemented((a) => a.revoke?.format)].sort());
    expect(schemaEnum('inject', 'scheme').sort()).toEqual([...implemented((a) => a.request?.scheme)].sort());
    const dataOnly = ['oauth2', 'api_key', 'basic', 'hmac_unleashed', 'lwa_oauth2'];
    expect(schemaEnum('authMode').filter((v) => !dataOnly.includes(v)).sort()).toEqual([...implemented((a) => a.request?.authMode)].sort());
  });

  it("each catalog entry's value is implemented by that provider's own adapter, with its hooks", () => {
    for (const p of catalog.list()) {
      const a = adapterFor(p);
      if (p.oauth?.flow && p.oauth.flow !== 'standard') {
        expect(a.oauth?.flow, p.id).toBe(p.oauth.flow);
        expect(Object.keys(a.oauth!).length, `${p.id}: a flow with no hooks`).toBeGreaterThan(1);
      }
      if (p.oauth?.revokeFormat === 'json') expect(typeof a.revoke?.send, p.id).toBe('function');
      if (p.inject.scheme) expect(typeof a.request?.sign, p.id).toBe('function');
    }
  });

  it('every adapter belongs to a catalog provider', () => {
    for (const [id, a] of ADAPTERS) {
      expect(a.id).toBe(id);
      expect(() => catalog.get(id)).not.toThrow();
    }
  });
});

describe('a catalog entry the code does not back stops start, naming the file and the value', () => {
  it('a flow nobody implemented for this provider', () => {
    const acme: Provider = { ...entry('xero'), id: 'acme', displayName: 'Acme' };
    expect(adapterProblems([acme])).toEqual(["catalog/providers/acme.yaml: oauth.flow 'xero' has no implementation in providers/acme/index.ts"]);
    expect(() => assertAdaptersCoverCatalog([acme])).toThrow(CatalogError);
    expect(() => assertAdaptersCoverCatalog([acme])).toThrow(/catalog\/providers\/acme\.yaml: oauth\.flow 'xero'/);
  });

  it('a value that differs from what the adapter implements', () => {
    const xero = entry('xero');
    xero.oauth!.flow = 'slack';
    expect(adapterProblems([xero])).toEqual(["catalog/providers/xero.yaml: oauth.flow 'slack' has no implementation in providers/xero/index.ts (it implements 'xero')"]);
  });

  it('an adapter implementing what its entry does not say (the code would run unannounced)', () => {
    const xero = entry('xero');
    xero.oauth!.flow = 'standard';
    expect(adapterProblems([xero])).toEqual(["providers/xero/index.ts implements oauth.flow 'xero', but catalog/providers/xero.yaml does not say so (oauth.flow: standard)"]);
    const quickbooks = entry('quickbooks');
    delete quickbooks.oauth!.revokeFormat;
    expect(adapterProblems([quickbooks])).toEqual(["providers/quickbooks/index.ts implements oauth.revokeFormat 'json', but catalog/providers/quickbooks.yaml does not say so (oauth.revokeFormat: form)"]);
  });

  it('a request-signing scheme, a revoke format and an auth mode on a provider without code', () => {
    const signed: Provider = { ...entry('unleashed'), id: 'signed' };
    const revoking: Provider = { ...entry('quickbooks'), id: 'revoking', oauth: { ...entry('quickbooks').oauth!, flow: 'standard' } };
    const tenantDefined: Provider = { ...entry('custom'), id: 'tenant-api' };
    expect(adapterProblems([signed, revoking, tenantDefined])).toEqual([
      "catalog/providers/signed.yaml: inject.scheme 'unleashed_hmac' has no implementation in providers/signed/index.ts",
      "catalog/providers/revoking.yaml: oauth.revokeFormat 'json' has no implementation in providers/revoking/index.ts",
      "catalog/providers/tenant-api.yaml: authMode 'custom' has no implementation in providers/tenant-api/index.ts",
    ]);
  });

  it('a declared value whose hook is missing', () => {
    const unleashed = ADAPTERS.get('unleashed')!;
    const adapters = new Map(ADAPTERS).set('unleashed', { id: 'unleashed', request: { scheme: unleashed.request!.scheme! } });
    expect(adapterProblems([entry('unleashed')], { adapters })).toEqual(["catalog/providers/unleashed.yaml: inject.scheme 'unleashed_hmac' is declared by providers/unleashed/index.ts but not implemented"]);
  });

  it('webhook schemes are required only once inbound webhooks exist', () => {
    const hooked: Provider = { ...entry('stripe'), id: 'hooked', webhooks: { scheme: 'stripe_signature', routingKey: 'endpoint' } };
    expect(adapterProblems([hooked])).toEqual([]);
    expect(adapterProblems([hooked], { webhooks: true })).toEqual(["catalog/providers/hooked.yaml: webhooks.scheme 'stripe_signature' has no implementation in providers/hooked/index.ts"]);
  });

  it('an action named like one of its syncs (both are rows of sync_runs under that name: one would block or reset the other)', () => {
    const qb = ADAPTERS.get('quickbooks')!;
    const sync = {} as NonNullable<ProviderAdapter['syncs']>[string]; // only the names matter here
    const adapters = new Map(ADAPTERS).set('quickbooks', { ...qb, syncs: { exchangerate: sync, invoices: sync } });
    expect(adapterProblems([entry('quickbooks')], { adapters })).toEqual(["providers/quickbooks/index.ts: 'exchangerate' is both an action and a sync (they share the run history and its one-running rule)"]);
  });

  const db = testDb();
  afterAll(() => db.close());
  it('the composition root refuses such a catalog', () => {
    const acme: Provider = { ...entry('shopify'), id: 'acme' };
    const bad = { get: (id: string) => (id === 'acme' ? acme : catalog.get(id)), list: () => [...catalog.list(), acme] };
    expect(() => nodeServices(db, testRing(), undefined, { catalog: bad })).toThrow(/catalog\/providers\/acme\.yaml: oauth\.flow 'shopify' has no implementation in providers\/acme\/index\.ts/);
  });
});
