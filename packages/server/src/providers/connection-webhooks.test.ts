import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../domains/catalog/catalog.js';
import { adapterFor } from './registry.js';

/*
 * A per-connection webhook adapter reads its key from a connection field: that field must be an
 * optional secret field of the provider's catalog entry (in the vault, never shown), and the
 * adapter must implement the scheme the entry names.
 */
const catalog = loadCatalog();
const CONNECTION_LEVEL = ['mux', 'resend', 'kustomer', 'wise', 'assemblyai', 'unleashed', 'custom'];

describe.each(CONNECTION_LEVEL)('%s: connection-level webhooks match the catalog entry', (id) => {
  const provider = catalog.get(id);
  const hooks = adapterFor(provider).webhooks;

  it('implements the scheme the entry names, per connection', () => {
    expect(hooks?.level).toBe('connection');
    expect(hooks?.scheme).toBe(provider.webhooks?.scheme);
  });

  it('reads its key from an optional secret credential field of the entry', () => {
    const field = provider.credentialFields.find((f) => f.name === hooks?.secretField);
    expect(field, `${id}: credentialFields has no '${hooks?.secretField}'`).toBeDefined();
    expect(field).toMatchObject({ secret: true, required: false });
  });
});

describe('config the tenant-shaped schemes read', () => {
  it('AssemblyAI keeps the header name as non-secret config', () => {
    expect(catalog.get('assemblyai').configFields?.find((f) => f.name === 'webhookAuthHeaderName')).toMatchObject({ secret: false, required: false });
  });

  it('custom keeps mode, header, encoding and prefix as non-secret config', () => {
    const names = (catalog.get('custom').configFields ?? []).filter((f) => !f.secret).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['webhookMode', 'webhookSignatureHeader', 'webhookSignatureEncoding', 'webhookSignaturePrefix']));
  });

  it('Wise has no webhook "secret" field any more: the field names a public key', () => {
    expect(catalog.get('wise').credentialFields.map((f) => f.name)).not.toContain('webhookSecret');
  });
});
