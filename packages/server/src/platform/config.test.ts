import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, webhookAppSecrets } from './config.js';

const base = { NODE_ENV: 'test' } as NodeJS.ProcessEnv;

describe('configuration', () => {
  it('defaults to an embedded Postgres under ./.keyhold and port 3000 on loopback', () => {
    const c = loadConfig(base, '/srv/app');
    expect(c).toMatchObject({ host: '127.0.0.1', port: 3000, dataDir: '/srv/app/.keyhold' });
    expect(c.database).toMatchObject({ mode: 'embedded', pgDataDir: path.join('/srv/app/.keyhold', 'pg') });
  });

  it('accepts KEYHOLD_PORT, falling back to PORT', () => {
    expect(loadConfig({ ...base, PORT: '8080' }).port).toBe(8080);
    expect(loadConfig({ ...base, PORT: '8080', KEYHOLD_PORT: '9090' }).port).toBe(9090);
  });

  it('names the bad variable and its value', () => {
    const err = (() => {
      try {
        loadConfig({ ...base, KEYHOLD_PORT: 'eighty' });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/KEYHOLD_PORT: .*\(got "eighty"\)/);
  });

  it('names a bad secret variable without echoing its value', () => {
    const canary = 'mysql://root:canary-pw@db/x';
    expect(() => loadConfig({ ...base, DATABASE_URL: canary })).toThrow(/DATABASE_URL: must start with postgres/);
    try {
      loadConfig({ ...base, DATABASE_URL: canary });
    } catch (e) {
      expect((e as Error).message).not.toContain('canary-pw');
    }
  });

  it('requires the app role password with an external DATABASE_URL', () => {
    expect(() => loadConfig({ ...base, DATABASE_URL: 'postgres://admin:pw@db:5432/keyhold' })).toThrow(/KEYHOLD_DB_APP_PASSWORD: required/);
    const c = loadConfig({ ...base, DATABASE_URL: 'postgres://admin:pw@db:5432/keyhold', KEYHOLD_DB_APP_PASSWORD: 'a-long-app-password-123' });
    expect(c.database).toMatchObject({ mode: 'external', appUrl: 'postgres://keyhold_app:a-long-app-password-123@db:5432/keyhold' });
  });

  it('runs jobs as the jobs role with an external DATABASE_URL, asking for its password only where jobs run', async () => {
    const { requireJobsUrl } = await import('./db/database.js');
    const db = { DATABASE_URL: 'postgres://admin:pw@db:5432/keyhold', KEYHOLD_DB_APP_PASSWORD: 'a-long-app-password-123' };
    const withoutJobs = loadConfig({ ...base, ...db }).database;
    expect(() => requireJobsUrl(withoutJobs as { jobsUrl?: string })).toThrow(/KEYHOLD_DB_JOBS_PASSWORD: required when DATABASE_URL is set/);
    const c = loadConfig({ ...base, ...db, KEYHOLD_DB_JOBS_PASSWORD: 'a-long-jobs-password-45' });
    expect(c.database).toMatchObject({ jobsUrl: 'postgres://keyhold_jobs:a-long-jobs-password-45@db:5432/keyhold', jobsPassword: 'a-long-jobs-password-45' });
    const own = loadConfig({ ...base, ...db, KEYHOLD_JOBS_DATABASE_URL: 'postgres://jobs:secret-jobs-pw@pool:6432/keyhold' });
    expect(own.database).toMatchObject({ jobsUrl: 'postgres://jobs:secret-jobs-pw@pool:6432/keyhold' });
    expect(() => loadConfig({ ...base, ...db, KEYHOLD_DB_JOBS_PASSWORD: 'short-canary' })).toThrow(/KEYHOLD_DB_JOBS_PASSWORD: must be at least 16 characters$/m);
  });

  it('refuses the same signing key for tenant and admin tokens', async () => {
    const { resolveJwtKeys } = await import('./dev-keys.js');
    const key = Buffer.alloc(32, 7).toString('base64');
    const c = loadConfig({ ...base, KEYHOLD_JWT_SECRET: key, KEYHOLD_ADMIN_JWT_SECRET: key });
    await expect(resolveJwtKeys(c, (await import('../test-support/index.js')).silentLogger())).rejects.toThrow(/KEYHOLD_ADMIN_JWT_SECRET: must differ/);
  });

  it('requires signing keys in production, naming them', async () => {
    const { resolveJwtKeys } = await import('./dev-keys.js');
    const c = loadConfig({ ...base, NODE_ENV: 'production' });
    await expect(resolveJwtKeys(c, (await import('../test-support/index.js')).silentLogger())).rejects.toThrow(/KEYHOLD_JWT_SECRET: required in production[\s\S]*KEYHOLD_ADMIN_JWT_SECRET/);
  });

  it("an OAuth app's scopes come from KEYHOLD_OAUTH_<ID>_SCOPES (spaces or commas); the catalog's apply without it", () => {
    const app = { KEYHOLD_OAUTH_XERO_CLIENT_ID: 'id', KEYHOLD_OAUTH_XERO_CLIENT_SECRET: 'secret' };
    expect(loadConfig({ ...base, ...app }).oauthApps.xero?.scopes).toBeUndefined();
    const c = loadConfig({ ...base, ...app, KEYHOLD_OAUTH_XERO_SCOPES: 'offline_access accounting.invoices.read,  accounting.contacts.read' });
    expect(c.oauthApps.xero?.scopes).toEqual(['offline_access', 'accounting.invoices.read', 'accounting.contacts.read']);
    const amazon = loadConfig({ ...base, KEYHOLD_OAUTH_AMAZON_SP_API_CLIENT_ID: 'a', KEYHOLD_OAUTH_AMAZON_SP_API_CLIENT_SECRET: 'b', KEYHOLD_OAUTH_AMAZON_SP_API_SCOPES: 'x' });
    expect(amazon.oauthApps['amazon-sp-api']?.scopes).toEqual(['x']);
    expect(() => loadConfig({ ...base, ...app, KEYHOLD_OAUTH_XERO_SCOPES: 'accounting."invoices"' })).toThrow(/KEYHOLD_OAUTH_XERO_SCOPES/);
    expect(() => loadConfig({ ...base, ...app, KEYHOLD_OAUTH_XERO_SCOPES: ' , ' })).toThrow(/KEYHOLD_OAUTH_XERO_SCOPES/);
    expect(() => loadConfig({ ...base, KEYHOLD_OAUTH_XERO_SCOPES: 'offline_access' })).toThrow(/KEYHOLD_OAUTH_XERO_CLIENT_ID/);
  });

  it('webhook secrets: KEYHOLD_WEBHOOK_<ID>_SECRETS (comma-separated, rotation) and _VERIFY_TOKEN; the OAuth client secret only where the provider signs with it', () => {
    const c = loadConfig({
      KEYHOLD_WEBHOOK_SHOPIFY_SECRETS: 'new-one, old-one', KEYHOLD_WEBHOOK_MESSENGER_VERIFY_TOKEN: 'verify-me',
      KEYHOLD_OAUTH_SHOPIFY_CLIENT_ID: 'id', KEYHOLD_OAUTH_SHOPIFY_CLIENT_SECRET: 'client-secret',
      KEYHOLD_OAUTH_XERO_CLIENT_ID: 'xid', KEYHOLD_OAUTH_XERO_CLIENT_SECRET: 'xero-client-secret',
    }, '/srv');
    expect(webhookAppSecrets(c, 'shopify', true)).toEqual(['new-one', 'old-one']);
    expect(c.webhooks.verifyTokens.messenger?.reveal()).toBe('verify-me');
    expect(JSON.stringify(c.webhooks)).not.toContain('new-one');
    expect(webhookAppSecrets({ ...c, webhooks: { ...c.webhooks, secrets: {} } }, 'shopify', true)).toEqual(['client-secret']);
    expect(webhookAppSecrets(c, 'xero', false)).toEqual([]);
    expect([c.webhooks.rawRetentionDays, c.webhooks.retentionDays]).toEqual([30, 90]);
  });

  it('KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS: how long a replaced connection webhook secret verifies (24 by default)', () => {
    expect(loadConfig({}, '/srv').webhooks.secretOverlapHours).toBe(24);
    expect(loadConfig({ KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS: '2' }, '/srv').webhooks.secretOverlapHours).toBe(2);
    expect(() => loadConfig({ KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS: '-1' }, '/srv')).toThrow(/KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS/);
  });

  it('shutdown drain: 10 s in production (a load balancer must see /ready fail first), none elsewhere, settable', () => {
    expect(loadConfig({ ...base }, '/srv').shutdownDrainMs).toBe(0);
    expect(loadConfig({ NODE_ENV: 'production' }, '/srv').shutdownDrainMs).toBe(10_000);
    expect(loadConfig({ NODE_ENV: 'production', KEYHOLD_SHUTDOWN_DRAIN_SECONDS: '2.5' }, '/srv').shutdownDrainMs).toBe(2_500);
    expect(() => loadConfig({ ...base, KEYHOLD_SHUTDOWN_DRAIN_SECONDS: '-1' }, '/srv')).toThrow(/KEYHOLD_SHUTDOWN_DRAIN_SECONDS/);
  });

  it('outbound deliveries: 15 s attempts, bodies kept 30 days, the log 90, each settable', () => {
    expect(loadConfig({ ...base }, '/srv').deliveries).toEqual({ timeoutMs: 15_000, payloadRetentionDays: 30, retentionDays: 90 });
    const c = loadConfig({ ...base, KEYHOLD_DELIVERY_TIMEOUT_MS: '5000', KEYHOLD_DELIVERY_PAYLOAD_RETENTION_DAYS: '7', KEYHOLD_DELIVERY_RETENTION_DAYS: '30' }, '/srv');
    expect(c.deliveries).toEqual({ timeoutMs: 5000, payloadRetentionDays: 7, retentionDays: 30 });
    expect(() => loadConfig({ ...base, KEYHOLD_DELIVERY_TIMEOUT_MS: '0' }, '/srv')).toThrow(/KEYHOLD_DELIVERY_TIMEOUT_MS/);
  });

  it('rejects unknown enum values with the allowed list', () => {
    expect(() => loadConfig({ ...base, KEYHOLD_LOG_LEVEL: 'loud' })).toThrow(/KEYHOLD_LOG_LEVEL: .*"info"/);
  });

  it('metrics: loopback-only outside production, off in production, token when one is set; contradictions name the variable', () => {
    expect(loadConfig({ ...base, NODE_ENV: 'development' }).metrics).toEqual({ mode: 'loopback' });
    expect(loadConfig({ ...base, NODE_ENV: 'production' }).metrics).toEqual({ mode: 'off' });
    expect(loadConfig({ ...base, NODE_ENV: 'production', KEYHOLD_METRICS: 'open' }).metrics).toEqual({ mode: 'open' });
    const token = 'm'.repeat(40);
    const c = loadConfig({ ...base, NODE_ENV: 'production', KEYHOLD_METRICS_TOKEN: token }).metrics;
    expect(c.mode === 'token' && c.token.reveal()).toBe(token);
    expect(JSON.stringify(c)).not.toContain(token);
    expect(() => loadConfig({ ...base, KEYHOLD_METRICS: 'token' })).toThrow(/KEYHOLD_METRICS_TOKEN: required with KEYHOLD_METRICS=token/);
    expect(() => loadConfig({ ...base, KEYHOLD_METRICS: 'open', KEYHOLD_METRICS_TOKEN: token })).toThrow(/KEYHOLD_METRICS_TOKEN: only used with KEYHOLD_METRICS=token/);
    expect(() => loadConfig({ ...base, KEYHOLD_METRICS: 'public' })).toThrow(/KEYHOLD_METRICS: .*"loopback"/);
    const short = (() => { try { loadConfig({ ...base, KEYHOLD_METRICS_TOKEN: 'short-canary' }); } catch (e) { return (e as Error).message; } return ''; })();
    expect(short).toMatch(/KEYHOLD_METRICS_TOKEN: must be at least 32 characters/);
    expect(short).not.toContain('short-canary');
  });

  it('sign-up: open outside production, closed in production; trials last 14 days unless KEYHOLD_TRIAL_DAYS says otherwise', () => {
    expect(loadConfig({ ...base, NODE_ENV: 'development' })).toMatchObject({ signup: 'open', trialDays: 14 });
    expect(loadConfig({ ...base, NODE_ENV: 'production' })).toMatchObject({ signup: 'closed' });
    expect(loadConfig({ ...base, NODE_ENV: 'production', KEYHOLD_SIGNUP: 'invite', KEYHOLD_TRIAL_DAYS: '0' })).toMatchObject({ signup: 'invite', trialDays: 0 });
    expect(() => loadConfig({ ...base, KEYHOLD_SIGNUP: 'maybe' })).toThrow(/KEYHOLD_SIGNUP: .*"invite".*\(got "maybe"\)/);
    expect(() => loadConfig({ ...base, KEYHOLD_TRIAL_DAYS: '-1' })).toThrow(/KEYHOLD_TRIAL_DAYS: must be a whole number of days/);
    expect(() => loadConfig({ ...base, KEYHOLD_TRIAL_DAYS: '9999' })).toThrow(/KEYHOLD_TRIAL_DAYS: must be at most 3650 days/);
  });
});
