import { randomBytes } from 'node:crypto';
import { shopifyWebhookDelivery } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { bearer, signup } from '../../test-support/accounts.js';
import { type TestApp, migratedScratch, testApp } from '../../test-support/index.js';
import { Secret } from '../../platform/crypto/secret.js';
import { jobsRoleUrl } from '../../platform/config.js';
import { type JobRunner, startJobRunner } from '../../platform/jobs.js';
import { silentLogger } from '../../test-support/index.js';
import { registerInboundWebhookJobs } from './inbound-webhooks.jobs.js';

/**
 * Processing after the ack on real pg-boss, on a scratch database of its own (the sweep and the
 * retention job cross tenants): queued events are processed, events a crash left unqueued are
 * found by the sweep, and retention drops raw bodies first, then rows.
 */
const SECRET = `shpss_${randomBytes(12).toString('hex')}`;
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let t: TestApp;
let jobs: JobRunner | undefined;

beforeAll(async () => {
  scratch = await migratedScratch();
  t = await testApp({ db: scratch.db, oauthApps: { shopify: { clientId: 'app', clientSecret: new Secret(SECRET) } } });
}, 60_000);
afterAll(async () => {
  await jobs?.stop();
  await t.close();
  await scratch.drop();
});

const statusOf = (tenantId: string) => t.db.withTenant(tenantId, (tx) => tx.selectFrom('inbound_events').select(['status', 'raw_body']).execute());
async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (done(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('inbound webhook jobs', () => {
  it('events stored while no job runner ran (a crash) are drained with the next ones; each delivery asks for a drain; all are processed', async () => {
    const acct = await signup(t.app);
    // Deliveries whose processing needs the job (an uninstall disconnects its connection), one store each.
    const stores = [0, 1].map(() => `s-${randomBytes(4).toString('hex')}.myshopify.com`);
    for (const storeDomain of stores) {
      const saved = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: 'shopify', apiKey: 'shpat_1', label: storeDomain.slice(0, 10), additionalConfig: { storeDomain } } });
      expect(saved.statusCode, saved.body).toBe(201);
    }
    const uninstall = (storeDomain: string) => t.app.inject({ method: 'POST', url: '/api/webhooks/shopify', ...(({ headers, body }) => ({ headers, payload: body }))(shopifyWebhookDelivery({ secret: SECRET, shop: storeDomain, topic: 'app/uninstalled', body: { myshopify_domain: storeDomain } })) });
    // As after a crash between the commit and asking for a drain: stored, nobody told.
    expect((await uninstall(stores[0]!)).statusCode).toBe(200);
    expect((await statusOf(acct.tenantId)).map((r) => r.status)).toEqual(['received']);

    jobs = await startJobRunner({ url: jobsRoleUrl(scratch.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    await registerInboundWebhookJobs(jobs, t.services.inboundWebhooks, { rawDays: 30, days: 90 });
    expect((await uninstall(stores[1]!)).statusCode).toBe(200);
    const all = await until(() => statusOf(acct.tenantId), (rows) => rows.length === 2 && rows.every((r) => r.status === 'processed'));
    expect(all.map((r) => r.status)).toEqual(['processed', 'processed']);

    // Retention: after 31 days the raw bodies are gone, the rows stay; after 91 days the rows go.
    t.clock.advance(31 * 86_400_000);
    await t.services.inboundWebhooks.prune({ rawDays: 30, days: 90 });
    expect((await statusOf(acct.tenantId)).map((r) => r.raw_body)).toEqual([null, null]);
    t.clock.advance(60 * 86_400_000);
    await t.services.inboundWebhooks.prune({ rawDays: 30, days: 90 });
    expect(await statusOf(acct.tenantId)).toEqual([]);
  }, 60_000);
});
