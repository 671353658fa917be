import { type Server, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Account, bearer, signup } from '../../test-support/accounts.js';
import { testApp } from '../../test-support/index.js';

/**
 * A zero-TTL name under the test's control: it answers a public address while Keyhold checks it,
 * then the loopback address. The `.test` name never resolves through real DNS, so only Keyhold's
 * own resolution can reach the listener below.
 */
function rebindingDns() {
  const queries: string[] = [];
  let publicAnswersLeft = Number.POSITIVE_INFINITY;
  return {
    queries,
    /** The next `n` queries still get the public address, every later one 127.0.0.1. */
    rebindAfter(n: number) {
      publicAnswersLeft = n;
    },
    resolve: async (hostname: string) => {
      queries.push(hostname);
      const address = publicAnswersLeft-- > 0 ? '93.184.216.34' : '127.0.0.1';
      return [{ address, family: 4 }];
    },
  };
}

/** An internal service on loopback that counts who reaches it (a TCP connection is enough). */
let internal: Server;
let hits = 0;
let port: number;
const dns = rebindingDns();
let t: Awaited<ReturnType<typeof testApp>>;
let owner: Account;
const SECRET = `rebind-secret-${crypto.randomUUID()}`;

beforeAll(async () => {
  internal = createServer((socket) => {
    hits++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => internal.listen(0, '127.0.0.1', resolve));
  port = (internal.address() as { port: number }).port;
  // One failure would open the breaker: a refusal that counted as one shows as a 503 on the next call.
  t = await testApp({ resolveHost: dns.resolve, breaker: { threshold: 1, cooldownMs: 60_000 } });
  owner = await signup(t.app);
});
afterAll(async () => {
  await t.close();
  await new Promise((resolve) => internal.close(resolve));
});

const customBody = (label: string) => ({
  serviceName: 'custom',
  label,
  apiKey: SECRET,
  additionalConfig: { baseUrl: `https://api.rebind.test:${port}`, headerName: 'X-Key', headerTemplate: '{{apiKey}}', verifyPath: '/v1/me' },
});

async function connectCustom(label: string) {
  dns.rebindAfter(Number.POSITIVE_INFINITY);
  const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(owner.accessToken), payload: customBody(label) });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().data.id as string;
}

function expectRefusedAtConnect(res: { statusCode: number; body: string; json(): { code: string; error: string } }) {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.json()).toMatchObject({ code: 'VALIDATION_FAILED', error: expect.stringMatching(/^baseUrl: must be a public address \(the host resolved to a loopback/) });
  expect(res.body).not.toContain(SECRET);
  expect(res.body).not.toContain('127.0.0.1');
}

describe('a custom base URL that rebinds between the check and the connection', () => {
  it('the proxy never connects to the loopback answer, and the refusal does not trip the breaker', async () => {
    const id = await connectCustom('proxy');
    const hitsBefore = hits;
    for (let call = 0; call < 2; call++) {
      const asked = dns.queries.length;
      dns.rebindAfter(1); // the check before the call sees the public address, the connection the loopback one
      const res = await t.app.inject({ method: 'GET', url: '/api/proxy/custom/v1/things', headers: { ...bearer(owner.accessToken), 'x-connection-label': 'proxy' } });
      expectRefusedAtConnect(res);
      // Check, then the connection's own lookup: the refusal came from the connection, not the check.
      expect(dns.queries.length - asked).toBe(2);
    }
    expect(hits - hitsBefore).toBe(0);
    const list = (await t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(owner.accessToken) })).json().data;
    expect(list.find((c: { id: string }) => c.id === id).status).toBe('active');
    expect(t.logs.text()).not.toContain(SECRET);
  });

  it('test-connection (unsaved credentials) never connects to the loopback answer', async () => {
    const hitsBefore = hits;
    const asked = dns.queries.length;
    dns.rebindAfter(2); // checked when read and again by the verify request
    const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials/test-connection', headers: bearer(owner.accessToken), payload: customBody('unsaved') });
    expectRefusedAtConnect(res);
    expect(dns.queries.length - asked).toBe(3);
    expect(hits - hitsBefore).toBe(0);
  });

  it('testing a saved connection never connects to the loopback answer and leaves its status alone', async () => {
    const id = await connectCustom('saved');
    const hitsBefore = hits;
    dns.rebindAfter(1);
    const res = await t.app.inject({ method: 'POST', url: `/api/api-credentials/${id}/test`, headers: bearer(owner.accessToken) });
    expectRefusedAtConnect(res);
    expect(hits - hitsBefore).toBe(0);
    const list = (await t.app.inject({ method: 'GET', url: '/api/api-credentials', headers: bearer(owner.accessToken) })).json().data;
    expect(list.find((c: { id: string }) => c.id === id).status).toBe('active');
  });
});
