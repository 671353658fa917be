import { createPublicKey, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createApiKey } from '../../test-support/accounts.js';
import { type OutboundHarness, outboundHarness, verifyWith } from '../../test-support/outbound-webhooks.js';

let h: OutboundHarness;
beforeAll(async () => {
  h = await outboundHarness();
}, 60_000);
afterAll(() => h?.close());

const DAY = 86_400_000;

describe('webhook endpoints: management', () => {
  it('creating needs a fresh MFA code; the whsec_ secret (32 random bytes) is shown once and never in reads', async () => {
    const o = await h.owner();
    const url = h.receiver.urlFor(`crud-${crypto.randomUUID()}`);
    const noCode = await h.t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: bearer(o.acct.accessToken), payload: { url, eventTypes: ['*'] } });
    expect([noCode.statusCode, noCode.json().code]).toEqual([403, 'MFA_REQUIRED']);

    const ep = await h.createEndpoint(o, { url, description: 'orders', eventTypes: ['connection.created', 'webhook.received'] });
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(ep.secret.slice(6), 'base64')).toHaveLength(32);
    const list = await h.t.app.inject({ method: 'GET', url: '/api/webhook-endpoints', headers: bearer(o.acct.accessToken) });
    const one = await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(o.acct.accessToken) });
    expect(list.json().data.map((e: { id: string }) => e.id)).toEqual([ep.id]);
    expect(one.json().data).toMatchObject({ url, description: 'orders', eventTypes: ['connection.created', 'webhook.received'], enabled: true, disabledReason: null });
    for (const body of [list.body, one.body]) expect(body.includes(ep.secret.slice(6, 30))).toBe(false);

    const revealNoCode = await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}/secret`, headers: bearer(o.acct.accessToken) });
    expect(revealNoCode.statusCode).toBe(403);
    const reveal = await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}/secret`, headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() } });
    expect(reveal.json().data.secret).toBe(ep.secret);

    const patched = await h.t.app.inject({ method: 'PATCH', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(o.acct.accessToken), payload: { eventTypes: ['*'], enabled: false } });
    expect(patched.json().data).toMatchObject({ eventTypes: ['*'], enabled: false });

    const delNoCode = await h.t.app.inject({ method: 'DELETE', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(o.acct.accessToken) });
    expect(delNoCode.statusCode).toBe(403);
    const del = await h.t.app.inject({ method: 'DELETE', url: `/api/webhook-endpoints/${ep.id}`, headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() } });
    expect(del.statusCode).toBe(200);
    expect((await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(o.acct.accessToken) })).statusCode).toBe(404);
  });

  it('bad input is a 400 naming the field, and nothing is written', async () => {
    const o = await h.owner();
    const headers = async () => ({ ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() });
    for (const payload of [
      { url: 'ftp://example.com/hook', eventTypes: ['*'] },
      { url: 'not a url', eventTypes: ['*'] },
      { url: h.receiver.urlFor('x'), eventTypes: ['connection.exploded'] },
      { url: h.receiver.urlFor('x'), eventTypes: [] },
      { url: h.receiver.urlFor('x'), eventTypes: ['*', '*'] },
      { url: h.receiver.urlFor('x'), eventTypes: ['*'], secret: 'whsec_mine' },
    ]) {
      const res = await h.t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: await headers(), payload });
      expect([res.statusCode, res.json().code], JSON.stringify(payload)).toEqual([400, 'VALIDATION_FAILED']);
    }
    expect((await h.t.app.inject({ method: 'GET', url: '/api/webhook-endpoints', headers: bearer(o.acct.accessToken) })).json().data).toEqual([]);
  });

  it('with the private-URL setting on, plain http is accepted for loopback and private addresses only; public hosts need https', async () => {
    const o = await h.owner();
    const headers = async () => ({ ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() });
    const create = async (url: string) => h.t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: await headers(), payload: { url, eventTypes: ['*'] } });
    for (const url of ['http://hooks.example.com/in', 'http://93.184.216.34/in', 'http://[2606:2800:220:1::]/in']) {
      const res = await create(url);
      expect([res.statusCode, res.json().code], url).toEqual([400, 'VALIDATION_FAILED']);
      expect(res.json().error, url).toContain('url: must use https');
    }
    for (const url of ['http://127.0.0.1:9/in', 'http://localhost:9/in', 'http://10.0.0.5/in', 'http://[::1]:9/in', 'https://hooks.example.com/in']) {
      const res = await create(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(201);
    }
    const ep = await h.createEndpoint(o, { url: 'http://127.0.0.1:9/moving', eventTypes: ['*'] });
    const moved = await h.t.app.inject({ method: 'PUT', url: `/api/webhook-endpoints/${ep.id}/url`, headers: await headers(), payload: { url: 'http://hooks.example.com/in' } });
    expect([moved.statusCode, moved.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    // An endpoint saved with such a URL before this rule: refused at the send, nothing connects.
    await h.query('update webhook_endpoints set url = $2 where id = $1', [ep.id, 'http://93.184.216.34:9/in']);
    await h.emit(o.acct.tenantId, 1);
    await h.flush();
    const [d] = (await h.deliveriesOf(o.acct, ep.id)).data;
    expect([d.status, d.lastStatus, d.lastError]).toEqual(['pending', null, 'url_refused']);
  });

  it("API keys: 'webhooks:read' lists, 'webhooks:write' edits and tests; creating, revealing, rotating and deleting are for a person with MFA", async () => {
    const o = await h.owner();
    const ep = await h.createEndpoint(o, { url: h.receiver.urlFor(`keys-${crypto.randomUUID()}`), eventTypes: ['*'] });
    const reader = (await createApiKey(h.t.app, h.t.clock, o.acct, { role: 'admin', scopes: ['webhooks:read'] })).key;
    const writer = (await createApiKey(h.t.app, h.t.clock, o.acct, { role: 'admin', scopes: ['webhooks:read', 'webhooks:write'] })).key;
    const call = (key: string, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      h.t.app.inject({ method, url, headers: bearer(key), ...(payload ? { payload } : {}) }).then((r) => r.statusCode);
    expect(await call(reader, 'GET', '/api/webhook-endpoints')).toBe(200);
    expect(await call(reader, 'PATCH', `/api/webhook-endpoints/${ep.id}`, { description: 'x' })).toBe(403);
    expect(await call(writer, 'PATCH', `/api/webhook-endpoints/${ep.id}`, { description: 'x' })).toBe(200);
    expect(await call(writer, 'POST', `/api/webhook-endpoints/${ep.id}/test`)).toBe(202);
    expect(await call(writer, 'POST', '/api/webhook-endpoints', { url: h.receiver.urlFor('k'), eventTypes: ['*'] })).toBe(403);
    expect(await call(writer, 'GET', `/api/webhook-endpoints/${ep.id}/secret`)).toBe(403);
    expect(await call(writer, 'POST', `/api/webhook-endpoints/${ep.id}/rotate-secret`)).toBe(403);
    expect(await call(writer, 'DELETE', `/api/webhook-endpoints/${ep.id}`)).toBe(403);
  });

  it('moving an endpoint to another URL needs a person with a fresh MFA code, like creating one: PATCH refuses url, keys are refused', async () => {
    const o = await h.owner();
    const ep = await h.createEndpoint(o, { url: h.receiver.urlFor(`move-${crypto.randomUUID()}`), eventTypes: ['*'] });
    const elsewhere = h.receiver.urlFor(`moved-${crypto.randomUUID()}`);
    const writer = (await createApiKey(h.t.app, h.t.clock, o.acct, { role: 'admin', scopes: ['webhooks:read', 'webhooks:write'] })).key;
    const base = `/api/webhook-endpoints/${ep.id}`;
    const inject = (method: 'PATCH' | 'PUT', url: string, headers: Record<string, string>, payload: object) => h.t.app.inject({ method, url, headers, payload });

    const patchedByKey = await inject('PATCH', base, bearer(writer), { url: elsewhere });
    const patchedByPerson = await inject('PATCH', base, bearer(o.acct.accessToken), { url: elsewhere, description: 'moved' });
    for (const r of [patchedByKey, patchedByPerson]) {
      expect([r.statusCode, r.json().code], r.body).toEqual([400, 'VALIDATION_FAILED']);
      expect(r.json().error).toContain('PUT /api/webhook-endpoints/{id}/url');
    }
    const byKey = await inject('PUT', `${base}/url`, bearer(writer), { url: elsewhere });
    expect([byKey.statusCode, byKey.json().code]).toEqual([403, 'FORBIDDEN']);
    const noCode = await inject('PUT', `${base}/url`, bearer(o.acct.accessToken), { url: elsewhere });
    expect([noCode.statusCode, noCode.json().code]).toEqual([403, 'MFA_REQUIRED']);
    const stillThere = await h.t.app.inject({ method: 'GET', url: base, headers: bearer(o.acct.accessToken) });
    expect(stillThere.json().data).toMatchObject({ url: ep.url, description: '' });

    const moved = await inject('PUT', `${base}/url`, { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() }, { url: elsewhere });
    expect(moved.statusCode, moved.body).toBe(200);
    expect(moved.json().data).toMatchObject({ id: ep.id, url: elsewhere });
    expect(moved.body.includes(ep.secret.slice(6, 30))).toBe(false);
    const refused = await inject('PUT', `${base}/url`, { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() }, { url: 'ftp://example.com/hook' });
    expect([refused.statusCode, refused.json().code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it("tenant B can neither see nor reach A's endpoints and deliveries: every route answers 404, as for a missing id", async () => {
    const a = await h.owner();
    const b = await h.owner();
    const ep = await h.createEndpoint(a, { url: h.receiver.urlFor(`iso-${crypto.randomUUID()}`), eventTypes: ['*'] });
    await h.emit(a.acct.tenantId, 1);
    await h.flush();
    const delivery = (await h.deliveriesOf(a.acct, ep.id)).data[0];
    expect(delivery.status).toBe('delivered');
    const asB = async (method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', url: string, payload?: object, stepUp = false) =>
      h.t.app.inject({ method, url, headers: { ...bearer(b.acct.accessToken), ...(stepUp ? { 'x-mfa-code': await b.code() } : {}) }, ...(payload ? { payload } : {}) });
    const base = `/api/webhook-endpoints/${ep.id}`;
    const tries = [
      await asB('GET', base),
      await asB('PATCH', base, { enabled: false }),
      await asB('PUT', `${base}/url`, { url: h.receiver.urlFor('b-takes-over') }, true),
      await asB('GET', `${base}/deliveries`),
      await asB('POST', `${base}/deliveries/${delivery.id}/retry`),
      await asB('POST', `${base}/recover`, { since: new Date(0).toISOString() }),
      await asB('POST', `${base}/test`),
      await asB('GET', `${base}/secret`, undefined, true),
      await asB('POST', `${base}/rotate-secret`, undefined, true),
      await asB('DELETE', base, undefined, true),
    ];
    expect(tries.map((r) => [r.statusCode, r.json().code])).toEqual(tries.map(() => [404, 'NOT_FOUND']));
    expect((await asB('GET', '/api/webhook-endpoints')).json().data).toEqual([]);
    // A's endpoint is untouched and got nothing from B's attempts.
    expect((await h.t.app.inject({ method: 'GET', url: base, headers: bearer(a.acct.accessToken) })).json().data.enabled).toBe(true);
    expect((await h.deliveriesOf(a.acct, ep.id)).data).toHaveLength(1);
  });
});

describe('webhook endpoints: Standard Webhooks signatures', () => {
  it('each event reaches the endpoints whose filter takes it, signed so that the standardwebhooks package verifies it', async () => {
    const o = await h.owner();
    const all = await h.createEndpoint(o, { url: h.receiver.urlFor(`all-${crypto.randomUUID()}`), eventTypes: ['*'] });
    const other = await h.createEndpoint(o, { url: h.receiver.urlFor(`other-${crypto.randomUUID()}`), eventTypes: ['webhook.received'] });
    await h.emit(o.acct.tenantId, 2);
    await h.flush();
    const got = h.receiver.deliveries(new URL(all.url).pathname.split('/').pop()!);
    expect(got).toHaveLength(2);
    expect(h.receiver.deliveries(new URL(other.url).pathname.split('/').pop()!)).toHaveLength(0);
    const ids = (await h.deliveriesOf(o.acct, all.id)).data.map((d: { id: string }) => `msg_${d.id}`);
    for (const d of got) {
      const payload = verifyWith(all.secret, d, new Date(Number(d.headers['webhook-timestamp']) * 1000)) as { type: string; data: { subject: { provider: string } } };
      expect(payload.type).toBe('connection.created');
      expect(payload.data.subject.provider).toBe('stripe');
      expect(ids).toContain(d.headers['webhook-id']);
      expect(d.headers['webhook-signature']!.split(' ')).toHaveLength(1);
      expect(() => verifyWith(other.secret, d, new Date(Number(d.headers['webhook-timestamp']) * 1000))).toThrow();
      // A body altered by one byte no longer verifies.
      expect(() => verifyWith(all.secret, { ...d, body: d.body.replace('stripe', 'strips') }, new Date(Number(d.headers['webhook-timestamp']) * 1000))).toThrow();
    }
  });

  it('during a rotation both signatures are sent for 24 h (each secret verifies alone); after that only the new one', async () => {
    const o = await h.owner();
    const name = `rot-${crypto.randomUUID()}`;
    const ep = await h.createEndpoint(o, { url: h.receiver.urlFor(name), eventTypes: ['*'] });
    const rotated = await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${ep.id}/rotate-secret`, headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() } });
    const fresh = rotated.json().data.secret as string;
    expect(fresh).not.toBe(ep.secret);
    expect(rotated.json().data.previousSecretValidUntil).toBeTruthy();
    await h.emit(o.acct.tenantId, 1);
    await h.flush();
    const during = h.receiver.deliveries(name).at(-1)!;
    const at = new Date(Number(during.headers['webhook-timestamp']) * 1000);
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(during.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=* v1,[A-Za-z0-9+/]+=*$/);
    expect(verifyWith(fresh, during, at)).toBeTruthy();
    expect(verifyWith(ep.secret, during, at)).toBeTruthy();

    h.t.clock.advance(DAY + 60_000);
    await h.emit(o.acct.tenantId, 1);
    await h.flush();
    const after = h.receiver.deliveries(name).at(-1)!;
    const at2 = new Date(Number(after.headers['webhook-timestamp']) * 1000);
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verifyWith(fresh, after, at2)).toBeTruthy();
    expect(() => verifyWith(ep.secret, after, at2)).toThrow();
  });

  it('v1a: ed25519 signatures that the public key verifies (node:crypto); the private key is never shown; rotation sends both', async () => {
    const o = await h.owner();
    const name = `v1a-${crypto.randomUUID()}`;
    const res = await h.t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() }, payload: { url: h.receiver.urlFor(name), eventTypes: ['*'], signatureScheme: 'v1a' } });
    const ep = res.json().data;
    expect([res.statusCode, ep.signatureScheme, ep.secret]).toEqual([201, 'v1a', undefined]);
    expect(ep.publicKey).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const reveal = await h.t.app.inject({ method: 'GET', url: `/api/webhook-endpoints/${ep.id}/secret`, headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() } });
    expect(reveal.json().data).toEqual({ publicKey: ep.publicKey });

    const keyOf = (whpk: string) => createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(whpk.slice(5), 'base64').toString('base64url') }, format: 'jwk' });
    const verifies = (whpk: string, d: { headers: Record<string, string>; body: string }) =>
      d.headers['webhook-signature']!.split(' ').some((sig) => sig.startsWith('v1a,')
        && verify(null, Buffer.from(`${d.headers['webhook-id']}.${d.headers['webhook-timestamp']}.${d.body}`), keyOf(whpk), Buffer.from(sig.slice(4), 'base64')));
    await h.emit(o.acct.tenantId, 1);
    await h.flush();
    const first = h.receiver.deliveries(name).at(-1)!;
    expect(first.headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(verifies(ep.publicKey, first)).toBe(true);
    expect(verifies(ep.publicKey, { ...first, body: first.body.replace('stripe', 'strips') })).toBe(false);

    const rotated = (await h.t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${ep.id}/rotate-secret`, headers: { ...bearer(o.acct.accessToken), 'x-mfa-code': await o.code() } })).json().data;
    expect(rotated.publicKey).not.toBe(ep.publicKey);
    expect(rotated.secret).toBeUndefined();
    await h.emit(o.acct.tenantId, 1);
    await h.flush();
    const during = h.receiver.deliveries(name).at(-1)!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect([verifies(rotated.publicKey, during), verifies(ep.publicKey, during)]).toEqual([true, true]);
  });
});

describe('webhook endpoints: which events wait for the drain', () => {
  /** A `webhook.received` event written as the app writes it (inside the tenant's transaction); returns whether it was queued. */
  async function received(tenantId: string) {
    const id = crypto.randomUUID();
    await h.t.db.withTenant(tenantId, (tx) => tx.insertInto('events').values({
      id, tenant_id: tenantId, type: 'webhook.received', created_at: h.t.clock(),
      subject: JSON.stringify({ connectionId: crypto.randomUUID(), provider: 'shopify', label: 'store' }),
      payload: JSON.stringify({ topic: 'orders/create', externalId: `ev-${id}`, inboundEventId: crypto.randomUUID() }),
    }).execute());
    return { id, queued: (await h.query('select 1 from event_queue where tenant_id = $1 and id = $2', [tenantId, id])).length === 1 };
  }

  it("webhook.received is queued only while the tenant has an enabled endpoint taking it ('*' or the type); other types always are", async () => {
    const o = await h.owner();
    const tenantId = o.acct.tenantId;
    expect((await received(tenantId)).queued).toBe(false);
    // Other types are queued without any endpoint (notifications and syncs act on them).
    await h.emit(tenantId, 1);
    expect(await h.query("select 1 from event_queue q join events e on e.tenant_id = q.tenant_id and e.id = q.id where q.tenant_id = $1 and e.type = 'connection.created'", [tenantId])).toHaveLength(1);
    // An endpoint for other types does not make it wanted.
    await h.createEndpoint(o, { url: h.receiver.urlFor(`others-${crypto.randomUUID()}`), eventTypes: ['connection.created'] });
    expect((await received(tenantId)).queued).toBe(false);
    // Another tenant's endpoint does not either.
    const other = await h.owner();
    await h.createEndpoint(other, { url: h.receiver.urlFor(`elsewhere-${crypto.randomUUID()}`), eventTypes: ['*'] });
    expect((await received(tenantId)).queued).toBe(false);
    const name = `received-${crypto.randomUUID()}`;
    const ep = await h.createEndpoint(o, { url: h.receiver.urlFor(name), eventTypes: ['webhook.received'] });
    const wanted = await received(tenantId);
    expect(wanted.queued).toBe(true);
    await h.flush();
    expect(h.receiver.deliveries(name).map((d) => JSON.parse(d.body).data.eventId)).toEqual([wanted.id]);
    const disabled = await h.t.app.inject({ method: 'PATCH', url: `/api/webhook-endpoints/${ep.id}`, headers: bearer(o.acct.accessToken), payload: { enabled: false } });
    expect(disabled.statusCode).toBe(200);
    expect((await received(tenantId)).queued).toBe(false);
    await h.createEndpoint(o, { url: h.receiver.urlFor(`all-${crypto.randomUUID()}`), eventTypes: ['*'] });
    expect((await received(tenantId)).queued).toBe(true);
  });
});
