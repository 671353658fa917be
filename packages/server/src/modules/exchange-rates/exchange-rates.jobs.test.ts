import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobsRoleUrl } from '../../platform/config.js';
import { type JobRunner, startJobRunner } from '../../platform/jobs.js';
import { type Account, signup } from '../../test-support/accounts.js';
import { silentLogger } from '../../test-support/index.js';
import { oauthHarness } from '../../test-support/oauth.js';
import { DAILY_CRON_JOB, registerExchangeRateJobs } from './exchange-rates.jobs.js';
import { dailyRatesApiSource } from './rate-sources.js';

/** The daily run on real pg-boss, on a database of this file's own (it reads across tenants). */
let h: Awaited<ReturnType<typeof oauthHarness>>;
let jobs: JobRunner | undefined;
beforeAll(async () => {
  h = await oauthHarness({ scratch: true });
  h.t.services.exchangeRates.useSource(dailyRatesApiSource((url, init) => fetch(url, init), h.sandbox.baseUrlFor('rates')));
}, 60_000);
afterAll(async () => {
  await jobs?.stop();
  await h.close();
});

async function company(acct: Account, label: string, home: string) {
  const account = `fxjob-${randomBytes(5).toString('hex')}`;
  const realm = h.sandbox.oauth.accountIds('quickbooks', account).realmId!;
  h.sandbox.quickbooksCompanies.configure(realm, { homeCurrency: home });
  const res = await h.connect(acct, 'quickbooks', { label, consent: { sandbox_account: account } });
  if (res.statusCode !== 302) throw new Error(res.body);
  return realm;
}

describe('exchange rates: the daily run', () => {
  it("reaches every tenant with a QuickBooks company (ids only across tenants), each synced in its own context", async () => {
    const a = await signup(h.t.app);
    const b = await signup(h.t.app);
    await signup(h.t.app); // no QuickBooks: not visited
    const realms = [await company(a, 'one', 'USD'), await company(a, 'two', 'NZD'), await company(b, 'main', 'EUR')];
    expect((await h.t.services.exchangeRates.tenantsWithCompanies()).sort()).toEqual([a.tenantId, b.tenantId].sort());

    jobs = await startJobRunner({ url: jobsRoleUrl(h.scratch!.adminUrl, inject('jobsPassword')), log: silentLogger(), pollingIntervalSeconds: 0.5 });
    await registerExchangeRateJobs(jobs, h.t.services.exchangeRates);
    await jobs.runNow(DAILY_CRON_JOB);
    const today = new Date().toISOString().slice(0, 10);
    const runsOf = (tenantId: string) => h.t.db.withTenant(tenantId, (tx) => tx.selectFrom('exchange_rate_runs').select(['trigger', 'status', 'rates_synced']).execute());
    // A company's run row is the last thing its sync writes (after its last rate reached QuickBooks),
    // so wait for those rows, not for the rates: waiting for the rates can land before the rows exist.
    const end = Date.now() + 30_000;
    let runs = { a: await runsOf(a.tenantId), b: await runsOf(b.tenantId) };
    while ((runs.a.length < 2 || runs.b.length < 1) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      runs = { a: await runsOf(a.tenantId), b: await runsOf(b.tenantId) };
    }
    const succeeded = { trigger: 'schedule', status: 'succeeded', rates_synced: 11 };
    expect(runs).toEqual({ a: [succeeded, succeeded], b: [succeeded] });
    for (const [realm, home] of [[realms[0]!, 'USD'], [realms[1]!, 'NZD'], [realms[2]!, 'EUR']] as const) {
      const rates = h.sandbox.quickbooksCompanies.rates(realm);
      expect(rates, realm).toHaveLength(11);
      expect(rates.every((r) => r.TargetCurrencyCode === home && r.AsOfDate === today)).toBe(true);
    }
  }, 60_000);
});
