import { generateKeyPairSync } from 'node:crypto';
import { createSandbox, wiseDelivery, wiseWebhookKeyPair } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound, tamper } from '../shared/inbound.test-support.js';
import { WISE_PRODUCTION_PUBLIC_KEY, wiseWebhooks } from './webhooks.js';

const at = new Date('2026-11-27T02:00:00Z');
const keys = wiseWebhookKeyPair();
const delivery = wiseDelivery({ privateKey: keys.privateKey, event: { deliveryId: 'd-1', type: 'transfers#state-change' }, at });

// Wise's own test vector: a sandbox delivery and its signature, from Wise's reference
// implementation (https://github.com/transferwise/digital-signatures-examples/blob/main/verify-webhook-signature/verify-signature.js).
const WISE_VECTOR = {
  body: '{"data":{"resource":{"id":49983981,"profile_id":16055450,"account_id":14124090,"type":"transfer"},"current_state":"incoming_payment_waiting","previous_state":null,"occurred_at":"2021-08-23T10:12:50Z"},"subscription_id":"90aa8e14-4ef1-4a56-861c-f3c9cde097ea","event_type":"transfers#state-change","schema_version":"2.0.0","sent_at":"2021-08-23T10:12:50Z"}',
  signature: 'wKcKCYXAzxNgiu7xmoDm943NUni7Rz33QN8JkEA9dWSGebgndonabgSj18Y4C08OrwVmueGsED2s00M7DtJVcYKOS1i3G4TMVx+mgM3aL9djMBkQtiYNBFUd6wrPI7ZUNHv/TrlKSjTMc+6JFvUvJ7owY3z85e3I4jLRLJowMFvO8kvCJ60+1pY9wDwZvtZ//WS93LrwGjk9Dvwzpmu0w+P4J75tETT5qC3Uv0y5G2yO8SEoO3yNP/tg/BOli02niHb53vEOUWUb9bly6thnfMoXoiV/osoGxgF20R58RlvkAmezyyl1Sv542TfS2DpiwVnmjjjkCyXeSUcKookYLQ==',
};
const vector = inbound({ headers: { 'X-Signature-SHA256': WISE_VECTOR.signature, 'X-Delivery-Id': 'v-1' }, body: WISE_VECTOR.body });

describe('Wise webhooks (X-Signature-SHA256, RSA with Wise\'s key)', () => {
  it('is the Wise adapter, connection level, keyed by webhookPublicKey', () => {
    expect(adapterFor({ id: 'wise' }).webhooks).toBe(wiseWebhooks);
    expect(wiseWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookPublicKey', scheme: 'wise_rsa_sha256' });
  });

  it('verifies Wise\'s own signed sandbox delivery with Wise\'s published sandbox key', () => {
    expect(wiseWebhooks.verify(vector, ['sandbox'], at)).toEqual({ ok: true });
    expect(wiseWebhooks.verify(vector, ['production'], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(wiseWebhooks.verify(inbound({ headers: vector.headers as Record<string, string>, body: WISE_VECTOR.body.replace('49983981', '49983982') }), ['sandbox'], at)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('with no key configured, uses Wise\'s production key: a delivery signed by anyone else is refused', () => {
    expect(wiseWebhooks.verify(inbound(delivery), [], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(wiseWebhooks.verify(inbound(delivery), [''], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(wiseWebhooks.verify(vector, [], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(WISE_PRODUCTION_PUBLIC_KEY).toContain('BEGIN PUBLIC KEY');
  });

  it('accepts the sandbox\'s delivery with the sandbox\'s public key, and yields one event keyed by its signed body', () => {
    expect(wiseWebhooks.verify(inbound(delivery), [keys.publicKeyPem], at)).toEqual({ ok: true });
    const [e] = wiseWebhooks.events(inbound(delivery));
    expect(e).toEqual(expect.objectContaining({ externalId: expect.stringMatching(/^sha256:[0-9a-f]{64}$/), topic: 'transfers#state-change', routingKey: null }));
    // X-Delivery-Id is outside the signature: another value names the same event.
    expect(wiseWebhooks.events(inbound({ ...delivery, headers: { ...delivery.headers, 'x-delivery-id': 'd-forged' } }))[0]!.externalId).toBe(e!.externalId);
  });

  it('refuses a tampered body, another key pair, a missing header and a malformed one', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(wiseWebhooks.verify(inbound(delivery, { body: tamper(delivery.body) }), [keys.publicKeyPem], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(wiseWebhooks.verify(inbound(delivery), [other], at)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(wiseWebhooks.verify(inbound(delivery, { drop: 'x-signature-sha256' }), [keys.publicKeyPem], at)).toEqual({ ok: false, reason: 'missing_signature' });
    expect(wiseWebhooks.verify(inbound(delivery, { set: { 'x-signature-sha256': '%%%' } }), [keys.publicKeyPem], at)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('a value that is no RSA public key is refused, never treated as "no check"', () => {
    expect(wiseWebhooks.verify(inbound(delivery), ['not a key'], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('accepts either key during a rotation', () => {
    expect(wiseWebhooks.verify(inbound(delivery), ['production', keys.publicKeyPem], at)).toEqual({ ok: true });
  });

  it('the running sandbox exposes its Wise public key, which verifies what it signs', async () => {
    const sandbox = await createSandbox();
    try {
      const signed = wiseDelivery({ privateKey: sandbox.webhookKeys.wise.privateKey, event: { deliveryId: 'd-2', type: 'balances#credit' }, at });
      expect(wiseWebhooks.verify(inbound(signed), [sandbox.webhookKeys.wise.publicKeyPem], at)).toEqual({ ok: true });
      expect(wiseWebhooks.verify(inbound(signed), [keys.publicKeyPem], at)).toEqual({ ok: false, reason: 'bad_signature' });
    } finally {
      await sandbox.close();
    }
  });
});
