import type { JobRunner } from '../../platform/jobs.js';
import type { ExchangeRatesService } from './exchange-rates.service.js';

export const DAILY_CRON_JOB = 'exchange-rates.daily';
export const TENANT_SYNC_JOB = 'exchange-rates.sync-tenant';

/**
 * Daily at 08:00 UTC (the ECB publishes around 16:00 CET the day before): the cron fires once
 * across the cluster, reads the tenants that have a QuickBooks company (ids only, the one
 * cross-tenant read) and queues one job per tenant, which syncs that tenant's companies in its
 * own context. A tenant's job is a singleton per day, so a repeated cron queues nothing twice.
 */
export async function registerExchangeRateJobs(jobs: JobRunner, exchangeRates: Pick<ExchangeRatesService, 'syncAll' | 'tenantsWithCompanies'>) {
  await jobs.handle<{ tenantId: string; date: string }>(TENANT_SYNC_JOB, async ({ tenantId, date }) => {
    const out = await exchangeRates.syncAll({ tenantId }, date, 'schedule');
    return { total: out.total, successful: out.successful, failed: out.failed };
  });
  await jobs.every(DAILY_CRON_JOB, '0 8 * * *', async () => {
    const date = new Date().toISOString().slice(0, 10);
    const tenants = await exchangeRates.tenantsWithCompanies();
    for (const tenantId of tenants) {
      await jobs.send(TENANT_SYNC_JOB, { tenantId, date }, { singletonKey: `${tenantId}:${date}`, policy: { expireInSeconds: 3600, retryLimit: 3, retryDelaySeconds: 300, retryBackoff: true } });
    }
    return { tenants: tenants.length };
  });
}
