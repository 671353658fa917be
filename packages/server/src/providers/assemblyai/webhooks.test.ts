import { assemblyaiDelivery } from '@keyhold/sandbox';
import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import { inbound } from '../shared/inbound.test-support.js';
import { assemblyaiWebhooks } from './webhooks.js';

const at = new Date('2026-11-27T02:00:00Z');
const VALUE = 'tenant-chosen-secret-value';
const connection = { config: { webhookAuthHeaderName: 'X-Webhook-Secret' } };
const delivery = assemblyaiDelivery({ headerName: 'X-Webhook-Secret', headerValue: VALUE, transcriptId: '5552493-16d8', status: 'completed' });

describe('AssemblyAI webhooks (the tenant\'s own auth header)', () => {
  it('is the AssemblyAI adapter, connection level, keyed by webhookAuthHeaderValue', () => {
    expect(adapterFor({ id: 'assemblyai' }).webhooks).toBe(assemblyaiWebhooks);
    expect(assemblyaiWebhooks).toMatchObject({ level: 'connection', secretField: 'webhookAuthHeaderValue', scheme: 'assemblyai_header' });
  });

  it('accepts the configured header with the configured value; the event is transcript id + status', () => {
    expect(assemblyaiWebhooks.verify(inbound(delivery), [VALUE], at, connection)).toEqual({ ok: true });
    expect(assemblyaiWebhooks.events(inbound(delivery))).toEqual([expect.objectContaining({ externalId: '5552493-16d8:completed', topic: 'transcript.completed', routingKey: null })]);
    const failed = assemblyaiDelivery({ headerName: 'X-Webhook-Secret', headerValue: VALUE, transcriptId: '5552493-16d8', status: 'error' });
    expect(assemblyaiWebhooks.events(inbound(failed))[0]).toMatchObject({ externalId: '5552493-16d8:error', topic: 'transcript.error' });
  });

  it('refuses a wrong value, a value of another length, the header missing, or the value under another header', () => {
    expect(assemblyaiWebhooks.verify(inbound(delivery, { set: { 'x-webhook-secret': 'tenant-chosen-secret-valuX' } }), [VALUE], at, connection)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(assemblyaiWebhooks.verify(inbound(delivery, { set: { 'x-webhook-secret': 'short' } }), [VALUE], at, connection)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(assemblyaiWebhooks.verify(inbound(delivery, { drop: 'x-webhook-secret' }), [VALUE], at, connection)).toEqual({ ok: false, reason: 'missing_signature' });
    const elsewhere = assemblyaiDelivery({ headerName: 'X-Other', headerValue: VALUE, transcriptId: 't', status: 'completed' });
    expect(assemblyaiWebhooks.verify(inbound(elsewhere), [VALUE], at, connection)).toEqual({ ok: false, reason: 'missing_signature' });
  });

  it('refuses when the value or the header name is not configured', () => {
    expect(assemblyaiWebhooks.verify(inbound(delivery), [], at, connection)).toEqual({ ok: false, reason: 'no_secret' });
    expect(assemblyaiWebhooks.verify(inbound(delivery), [VALUE], at, { config: {} })).toEqual({ ok: false, reason: 'no_secret' });
    expect(assemblyaiWebhooks.verify(inbound(delivery), [VALUE], at)).toEqual({ ok: false, reason: 'no_secret' });
  });

  it('accepts either value during a rotation', () => {
    expect(assemblyaiWebhooks.verify(inbound(delivery), ['the-next-value', VALUE], at, connection)).toEqual({ ok: true });
  });
});
