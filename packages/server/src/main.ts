import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { type Services, createServices } from './deps.js';
import { systemClock } from './platform/clock.js';
import type { Config } from './platform/config.js';
import { createDb } from './platform/db/database.js';
import { openDatabaseEndpoint, requireJobsUrl } from './platform/db/database.js';
import { migrate, readMigrations } from './platform/db/migrate.js';
import { registerIdentityJobs } from './domains/identity/identity.jobs.js';
import { registerTenantJobs } from './domains/tenants/tenants.jobs.js';
import { registerOAuthJobs } from './domains/oauth/oauth.jobs.js';
import { registerEventJobs } from './domains/events/events.jobs.js';
import { registerInboundWebhookJobs } from './domains/inbound-webhooks/inbound-webhooks.jobs.js';
import { registerNotificationJobs } from './domains/notifications/notifications.jobs.js';
import { registerWebhookEndpointJobs } from './domains/webhook-endpoints/webhook-endpoints.jobs.js';
import { registerSyncJobs } from './domains/syncs/syncs.jobs.js';
import { registerExchangeRateJobs } from './modules/exchange-rates/exchange-rates.jobs.js';
import { registerWorkingCapitalJobs } from './modules/working-capital/working-capital.jobs.js';
import { loadCatalog } from './domains/catalog/catalog.js';
import { assertAdaptersCoverCatalog } from './providers/check.js';
import { loadKeyRing } from './domains/vault/kek.js';
import { registerVaultJobs } from './domains/vault/vault.jobs.js';
import { resolveJwtKeys } from './platform/dev-keys.js';
import { startJobRunner } from './platform/jobs.js';
import type { Logger } from './platform/logger.js';
import { VERSION } from './version.js';

export type RunningKeyhold = {
  app: FastifyInstance;
  url: string;
  services: Services;
  /**
   * Drains (for `config.shutdownDrainMs`: /ready answers 503, every response closes its
   * connection), stops accepting connections, finishes requests in flight, stops the job runner,
   * ends the pool, then stops the embedded Postgres.
   */
  stop(): Promise<void>;
};

/** Boots a Keyhold server: database (embedded unless DATABASE_URL), migrations, HTTP. */
export async function startKeyhold(config: Config, log: Logger): Promise<RunningKeyhold> {
  const startedAt = new Date();
  // Keys first: a missing production key must stop start before anything else happens.
  const keys = await resolveJwtKeys(config, log);
  const ring = await loadKeyRing(config, log);
  const catalog = loadCatalog({ baseUrlOverrides: config.providerBaseUrls, authUrlOverrides: config.providerAuthUrls });
  assertAdaptersCoverCatalog(catalog.list(), { webhooks: true }); // again in createServices; here it stops start before the database opens
  const endpoint = await openDatabaseEndpoint(config.database, log);
  const dbReadyMs = Date.now() - startedAt.getTime();
  let jobsUrl: string;
  try {
    jobsUrl = requireJobsUrl(endpoint);
    await migrate({ adminUrl: endpoint.adminUrl, appPassword: endpoint.appPassword, jobsPassword: endpoint.jobsPassword, log });
  } catch (err) {
    await endpoint.stop();
    throw err;
  }
  const db = createDb({ url: endpoint.appUrl, poolMax: config.database.poolMax, log });
  const services = createServices({ db, clock: systemClock, keys, ring, catalog, allowPrivateProviderUrls: config.allowPrivateProviderUrls, oauthApps: config.oauthApps, publicUrl: config.publicUrl, log, signup: config.signup, trialDays: config.trialDays, webhooks: config.webhooks, ...(config.email ? { email: config.email } : {}), deliveries: { timeoutMs: config.deliveries.timeoutMs }, ...(config.idp ? { idp: config.idp } : {}), production: config.env === 'production' });
  const legacy = (await services.mfa.encryptLegacySecrets()) + (await services.adminAuth.encryptLegacySecrets());
  if (legacy > 0) log.info({ count: legacy }, 'moved TOTP secrets stored before the vault under it');
  const expectedMigrations = (await readMigrations()).map((m) => m.name);
  let draining = false;
  const app = await buildApp({ logger: log, trustProxy: config.trustProxy, version: VERSION, startedAt, expectedMigrations, db, services, metricsAccess: config.metrics, draining: () => draining });
  const jobs = await startJobRunner({ url: jobsUrl, log });
  await registerTenantJobs(jobs, services.tenants);
  await registerIdentityJobs(jobs, services.attempts);
  await registerVaultJobs(jobs, services.vaultKeys);
  await registerOAuthJobs(jobs, services);
  await registerEventJobs(jobs, services.events);
  await registerNotificationJobs(jobs, services.notifications);
  await registerInboundWebhookJobs(jobs, services.inboundWebhooks, { rawDays: config.webhooks.rawRetentionDays, days: config.webhooks.retentionDays }, log);
  await registerWebhookEndpointJobs(jobs, services, { payloadDays: config.deliveries.payloadRetentionDays, days: config.deliveries.retentionDays }, log);
  await registerSyncJobs(jobs, services.syncs, { log });
  await registerExchangeRateJobs(jobs, services.exchangeRates);
  await registerWorkingCapitalJobs(jobs, services.workingCapital);
  app.addHook('onClose', async () => {
    await jobs.stop();
    await db.close();
  });
  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (err) {
    await app.close();
    await endpoint.stop();
    throw err;
  }
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`;
  log.info(
    {
      url,
      database: endpoint.mode,
      firstStart: endpoint.created,
      dbReadyMs,
      startupMs: Date.now() - startedAt.getTime(),
    },
    `Keyhold ${VERSION} listening on ${url}`,
  );
  return {
    app,
    url,
    services,
    async stop() {
      draining = true;
      if (config.shutdownDrainMs > 0) {
        log.info({ drainMs: config.shutdownDrainMs }, 'draining: /ready answers 503 until the listener closes');
        await new Promise((r) => setTimeout(r, config.shutdownDrainMs));
      }
      await app.close();
      await endpoint.stop();
    },
  };
}
