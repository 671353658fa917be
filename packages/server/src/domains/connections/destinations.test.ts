import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCatalog } from '../catalog/catalog.js';
import { destinationFields } from '../catalog/destinations.js';
import { TENANT_KEY_SCOPES } from '../identity/principal.js';
import { type Account, addMember, bearer, createApiKey, enrolMfa, signup } from '../../test-support/accounts.js';
import { adminClient, testApp } from '../../test-support/index.js';

/**
 * Changing where or how a connection's secrets are sent is as sensitive as rotating them: without
 * it, an admin (or an admin key) could point a connection at its own server and receive the secret
 * on the next test or proxy call.
 */

let t: Awaited<ReturnType<typeof testApp>>;
const hits: string[] = [];
let capture: ReturnType<typeof createServer>;
let captureUrl: string;
beforeAll(async () => {
  capture = createServer((req, res) => {
    hits.push(`${req.method} ${req.url} ${JSON.stringify(req.headers)}`);
    res.end('{}');
  });
  await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
  captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}`;
  t = await testApp({ allowPrivateProviderUrls: true });
});
afterAll(async () => {
  await t.close();
  capture.close();
});

const u = () => crypto.randomUUID();
/** A provider account id no other test holds (account ids are unique across tenants). */
const digits = () => String(Math.floor(Math.random() * 1e12));
/** A valid connection of each provider with destination fields, and another valid value for each such field. */
const FIXTURES: Record<string, { body: () => Record<string, unknown>; other: Record<string, string> }> = {
  xero: { body: () => ({ apiKey: 'xero-access', apiSecret: 'xero-refresh', additionalConfig: { xeroTenantId: u() } }), other: { xeroTenantId: u() } },
  quickbooks: { body: () => ({ apiKey: 'qb-access', apiSecret: 'qb-refresh', additionalConfig: { realmId: digits() } }), other: { realmId: digits() } },
  kustomer: { body: () => ({ apiKey: 'k-key', additionalConfig: { orgSubdomain: 'acme' } }), other: { orgSubdomain: 'evil' } },
  capricorn: { body: () => ({ apiKey: 'c-key', additionalConfig: { customerId: 'C-1' } }), other: { customerId: 'C-2' } },
  shopify: { body: () => ({ apiKey: 'shpat_abc123', additionalConfig: { storeDomain: `acme-${u().slice(0, 8)}.myshopify.com` } }), other: { storeDomain: `evil-${u().slice(0, 8)}.myshopify.com` } },
  'amazon-sp-api': {
    body: () => ({ apiKey: 'lwa-access', apiSecret: 'Atzr|refresh', additionalConfig: { sellingPartnerId: `A${digits()}`, marketplaceId: 'ATVPDKIKX0DER', region: 'na' } }),
    other: { region: 'eu' },
  },
  custom: {
    body: () => ({ apiKey: 'custom-key', additionalConfig: { baseUrl: 'https://api.example.com', headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}', verifyPath: '/v1/me' } }),
    other: { baseUrl: 'https://attacker.example/x', headerName: 'X-Stolen', headerTemplate: '{{apiKey}}', verifyPath: '/steal' },
  },
};

async function connection(owner: Account, provider: string) {
  const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: { serviceName: provider, label: `l-${u().slice(0, 8)}`, ...FIXTURES[provider]!.body() } });
  expect(res.statusCode, `${provider}: ${res.body}`).toBe(201);
  return res.json().data as { id: string; config: Record<string, string> };
}
const put = (id: string, headers: Record<string, string>, additionalConfig: Record<string, string>) =>
  t.app.inject({ method: 'PUT', url: `/api/api-credentials/${id}?verify=false`, headers, payload: { additionalConfig } });

describe('fields that decide where secrets go', () => {
  it('are derived from the catalog for every provider that has them', () => {
    const catalog = loadCatalog();
    const withDestinations = catalog.list().filter((p) => destinationFields(p).size > 0).map((p) => p.id).sort();
    expect(withDestinations).toEqual(Object.keys(FIXTURES).sort());
    expect([...destinationFields(catalog.get('custom'))].sort()).toEqual(['baseUrl', 'headerName', 'headerTemplate', 'verifyPath']);
    expect([...destinationFields(catalog.get('shopify'))]).toEqual(['storeDomain']);
  });

  it('each one needs the step-up of a rotation: an admin without MFA and an admin key holding every scope are refused, nothing changes', async () => {
    const owner = await signup(t.app);
    const admin = bearer(await addMember(t.app, owner, 'admin'));
    const key = bearer((await createApiKey(t.app, t.clock, owner, { name: 'all', role: 'admin', scopes: [...TENANT_KEY_SCOPES] })).key);
    const catalog = loadCatalog();
    let checked = 0;
    for (const provider of Object.keys(FIXTURES)) {
      const conn = await connection(owner, provider);
      for (const field of destinationFields(catalog.get(provider))) {
        const change = { [field]: FIXTURES[provider]!.other[field]! };
        for (const [who, headers] of [['admin session', admin], ['admin key', key]] as const) {
          const res = await put(conn.id, headers, change);
          expect([res.statusCode, res.json().code], `${provider}.${field} by ${who}`).toEqual([403, expect.stringMatching(/^MFA_/)]);
          checked++;
        }
      }
      const after = await t.app.inject({ method: 'GET', url: `/api/api-credentials/${conn.id}`, headers: bearer(owner.accessToken) });
      expect(after.json().data.config, provider).toEqual(conn.config);
    }
    expect(checked).toBe(2 * 10);
  });

  it('a field that sends nothing anywhere stays an ordinary update', async () => {
    const owner = await signup(t.app);
    const admin = bearer(await addMember(t.app, owner, 'admin'));
    const conn = await connection(owner, 'shopify');
    const res = await put(conn.id, admin, { apiVersion: '2026-01' });
    expect(res.statusCode, res.body).toBe(200);
  });

  it('with the step-up the change is made, audited as a redirect, and recorded as an event for the owners', async () => {
    const owner = await signup(t.app);
    const code = await enrolMfa(t.app, t.clock, owner);
    const conn = await connection(owner, 'shopify');
    const res = await put(conn.id, { ...bearer(owner.accessToken), 'x-mfa-code': await code() }, { storeDomain: 'other.myshopify.com' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data.config.storeDomain).toBe('other.myshopify.com');
    const audit = await t.app.inject({ method: 'GET', url: '/api/audit-logs?action=api_credentials.redirect', headers: bearer(owner.accessToken) });
    expect(audit.json().data[0]).toMatchObject({ entity: { id: conn.id }, metadata: { destinationFields: ['storeDomain'] } });
    expect(JSON.stringify(audit.json().data)).not.toContain('other.myshopify.com');
    const db = await adminClient();
    const events = await db.query('select type, detail from connection_events where tenant_id = $1 and connection_id = $2 order by id', [owner.tenantId, conn.id]);
    await db.end();
    expect(events.rows.map((e) => e.type)).toEqual(['connected', 'destination_changed']);
    expect(events.rows[1].detail).toEqual({ from: 'active', to: 'active', change: 'destination_changed', source: 'credentials', fields: ['storeDomain'], by: { type: 'user', id: owner.userId } });
  });

  it('an ordinary edit racing an approved redirect never undoes it: the stale one is refused', async () => {
    const owner = await signup(t.app);
    const admin = bearer(await addMember(t.app, owner, 'admin'));
    const code = await enrolMfa(t.app, t.clock, owner);
    for (let round = 0; round < 5; round++) {
      const conn = await connection(owner, 'shopify');
      const target = `moved-${round}.myshopify.com`;
      const mfa = await code();
      const [approved, ...edits] = await Promise.all([
        put(conn.id, { ...bearer(owner.accessToken), 'x-mfa-code': mfa }, { storeDomain: target }),
        ...Array.from({ length: 12 }, (_, i) => put(conn.id, admin, { apiVersion: `2026-0${(i % 9) + 1}` })),
      ]);
      expect(edits.every((r) => r.statusCode === 200 || r.statusCode === 409), edits.map((r) => r.statusCode).join()).toBe(true);
      const after = await t.app.inject({ method: 'GET', url: `/api/api-credentials/${conn.id}`, headers: bearer(owner.accessToken) });
      if (approved.statusCode === 200) expect(after.json().data.config.storeDomain).toBe(target);
      else expect([approved.statusCode, after.json().data.config.storeDomain]).toEqual([409, conn.config.storeDomain]);
    }
  });

  it('the reported attack no longer delivers the key: a custom connection cannot be pointed elsewhere without the step-up', async () => {
    const owner = await signup(t.app);
    const admin = bearer(await addMember(t.app, owner, 'admin'));
    const secret = `canary-${u()}`;
    const created = await t.app.inject({
      method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken),
      payload: { serviceName: 'custom', apiKey: secret, additionalConfig: { baseUrl: 'https://api.example.com', headerName: 'Authorization', headerTemplate: 'Bearer {{apiKey}}' } },
    });
    const id = created.json().data.id;
    hits.length = 0;
    const moved = await put(id, admin, { baseUrl: `${captureUrl}/x`, headerName: 'X-Stolen', headerTemplate: '{{apiKey}}' });
    expect(moved.statusCode).toBe(403);
    await t.app.inject({ method: 'POST', url: `/api/api-credentials/${id}/test`, headers: admin });
    expect(hits.filter((h) => h.includes(secret))).toEqual([]);
  });
});
