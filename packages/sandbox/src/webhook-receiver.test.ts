import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Sandbox, createSandbox } from './server.js';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await createSandbox();
});
afterAll(() => sandbox.close());

const post = (url: string, body = '{"type":"test.ping"}') =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'webhook-id': 'msg_1' }, body });

describe('sandbox webhook receiver', () => {
  it('records each delivery (headers, exact body) and answers 200 by default', async () => {
    const r = sandbox.webhookReceiver;
    const res = await post(r.urlFor('plain'));
    expect(res.status).toBe(200);
    expect(r.deliveries('plain')).toMatchObject([{ name: 'plain', body: '{"type":"test.ping"}', status: 200, headers: { 'webhook-id': 'msg_1' } }]);
    expect(r.deliveries('other')).toEqual([]);
  });

  it('answers as told, for a number of deliveries, then 200 again: 500, 410, 429 with Retry-After, slow', async () => {
    const r = sandbox.webhookReceiver;
    r.answer('told', { status: 500, times: 1 });
    r.answer('told', { status: 410, times: 1 });
    r.answer('told', { status: 429, retryAfter: '30', times: 1 });
    r.answer('told', { status: 200, delayMs: 300, times: 1 });
    const answers = [];
    for (let i = 0; i < 5; i++) {
      const started = Date.now();
      const res = await post(r.urlFor('told'));
      answers.push([res.status, res.headers.get('retry-after'), Date.now() - started >= 290]);
    }
    expect(answers).toEqual([[500, null, false], [410, null, false], [429, '30', false], [200, null, true], [200, null, false]]);
    r.answer('told', { status: 503 });
    expect((await post(r.urlFor('told'))).status).toBe(503);
    r.reset('told');
    expect((await post(r.urlFor('told'))).status).toBe(200);
  });

  it('the URL itself can ask for an answer (?status=&retryAfter=&delayMs=)', async () => {
    const res = await post(`${sandbox.webhookReceiver.urlFor('q')}?status=429&retryAfter=5`);
    expect([res.status, res.headers.get('retry-after')]).toEqual([429, '5']);
  });
});
