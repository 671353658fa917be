import { createHmac } from 'node:crypto';
import { quickbooksCloudEvent, quickbooksCloudEventsDelivery, quickbooksLegacyDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { AppError } from '../../platform/errors.js';
import type { InboundWebhook } from '../adapter.js';
import { quickbooksWebhooks as hooks } from './webhooks.js';

const TOKEN = 'intuit-verifier-token-current';
const OLD_TOKEN = 'intuit-verifier-token-previous';
const NOW = new Date('2026-11-27T02:00:00Z');
const REALM_A = '9341455000000001';
const REALM_B = '9341455000000002';

const post = (d: { headers: Record<string, string>; body: string }): InboundWebhook => ({ method: 'POST', raw: Buffer.from(d.body), headers: d.headers, query: {} });

/** Intuit's own sample CloudEvents payload (blogs.intuit.com, 2025-11-12), signed with node:crypto directly. */
const INTUIT_SAMPLE = `[
  {
    "specversion": "1.0",
    "id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
    "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
    "type": "qbo.account.created.v1",
    "datacontenttype": "application/json",
    "time": "2025-09-10T21:31:25.179851517Z",
    "intuitentityid": "1234",
    "intuitaccountid": "310687",
    "data": {}
  }
]`;

describe('QuickBooks app webhooks', () => {
  it("reads Intuit's published CloudEvents sample, signed independently of the sandbox", () => {
    const req = post({ headers: { 'intuit-signature': createHmac('sha256', TOKEN).update(INTUIT_SAMPLE).digest('base64') }, body: INTUIT_SAMPLE });
    expect(hooks.verify(req, [TOKEN], NOW)).toEqual({ ok: true });
    expect(hooks.events(req)).toEqual([
      { externalId: '88cd52aa-33b6-4351-9aa4-47572edbd068', topic: 'qbo.account.created.v1', routingKey: '310687', payload: JSON.parse(INTUIT_SAMPLE)[0], effect: 'changed' },
    ]);
  });

  it('splits a CloudEvents batch spanning two companies into events routed by intuitaccountid', () => {
    const a = quickbooksCloudEvent({ realmId: REALM_A, entity: 'invoice', entityId: '130', operation: 'updated', at: NOW });
    const b = quickbooksCloudEvent({ realmId: REALM_B, entity: 'customer', entityId: '58', operation: 'created', at: NOW });
    const req = post(quickbooksCloudEventsDelivery(TOKEN, [a, b]));
    expect(hooks.verify(req, [TOKEN], NOW)).toEqual({ ok: true });
    expect(hooks.events(req).map((e) => [e.routingKey, e.topic, e.externalId, e.effect])).toEqual([
      [REALM_A, 'qbo.invoice.updated.v1', a.id, 'changed'],
      [REALM_B, 'qbo.customer.created.v1', b.id, 'changed'],
    ]);
  });

  it('splits a legacy eventNotifications delivery per realm and entity, with ids a redelivery repeats', () => {
    const entities = [
      { name: 'Invoice', id: '130', operation: 'Update', lastUpdated: '2026-11-27T01:59:58.000Z' },
      { name: 'Customer', id: '58', operation: 'Merge', lastUpdated: '2026-11-27T01:59:59.000Z', deletedId: '12' },
    ];
    const d = quickbooksLegacyDelivery(TOKEN, [{ realmId: REALM_A, entities }, { realmId: REALM_B, entities: [entities[0]!] }]);
    const events = hooks.events(post(d));
    expect(hooks.verify(post(d), [TOKEN], NOW)).toEqual({ ok: true });
    expect(events.map((e) => [e.routingKey, e.topic, e.effect])).toEqual([
      [REALM_A, 'Invoice.Update', 'changed'],
      [REALM_A, 'Customer.Merge', 'changed'],
      [REALM_B, 'Invoice.Update', 'changed'],
    ]);
    expect(events[0]!.payload).toEqual({ realmId: REALM_A, entity: entities[0] });
    // The same change of another company, and another change of the same entity, are other events.
    expect(new Set(events.map((e) => e.externalId)).size).toBe(3);
    const redelivered = hooks.events(post(quickbooksLegacyDelivery(TOKEN, [{ realmId: REALM_A, entities: [entities[0]!] }])));
    expect(redelivered[0]!.externalId).toBe(events[0]!.externalId);
    const later = hooks.events(post(quickbooksLegacyDelivery(TOKEN, [{ realmId: REALM_A, entities: [{ ...entities[0]!, lastUpdated: '2026-11-27T02:00:30.000Z' }] }])));
    expect(later[0]!.externalId).not.toBe(events[0]!.externalId);
  });

  it('refuses a tampered body, another token, a missing header and an unconfigured token; accepts both tokens in a rotation', () => {
    const d = quickbooksCloudEventsDelivery(TOKEN, [quickbooksCloudEvent({ realmId: REALM_A, entity: 'invoice', entityId: '1', at: NOW, id: 'ce-1' })]);
    expect(hooks.verify(post({ ...d, body: d.body.replace(REALM_A, REALM_B) }), [TOKEN], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post(d), ['wrong-token'], NOW)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(hooks.verify(post({ ...d, headers: {} }), [TOKEN], NOW)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(hooks.verify(post(d), [], NOW)).toEqual({ ok: false, reason: 'no_secret' });
    expect(hooks.verify(post(d), [OLD_TOKEN, TOKEN], NOW)).toEqual({ ok: true });
    expect(hooks.verify(post(quickbooksCloudEventsDelivery(OLD_TOKEN, [])), [TOKEN, OLD_TOKEN], NOW)).toEqual({ ok: true });
  });

  it('refuses verified bodies Intuit would never send (400), naming no secret', () => {
    for (const body of ['{}', '[{"id":"x","type":"qbo.invoice.updated.v1"}]', '{"eventNotifications":[{"realmId":"1"}]}', 'nope']) {
      const err = (() => {
        try {
          hooks.events(post({ headers: {}, body }));
        } catch (e) {
          return e;
        }
      })();
      expect(err, body).toBeInstanceOf(AppError);
      expect((err as AppError).code).toBe('VALIDATION_FAILED');
      expect(String((err as Error).message)).not.toContain(TOKEN);
    }
  });
});
