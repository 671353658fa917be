import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { runCli } from '../../test-support/cli.js';
import { adminClient, testDb, testServices } from '../../test-support/index.js';

let dir: string;
let sandbox: Sandbox;
const db = testDb();
const services = testServices(db);
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'keyhold-import-env-'));
  await chmod(dir, 0o755);
  sandbox = await createSandbox();
});
afterAll(async () => {
  await db.close();
  await sandbox.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({ DATABASE_URL: inject('adminUrl'), KEYHOLD_APP_DATABASE_URL: inject('appUrl'), KEYHOLD_MASTER_KEYS: inject('masterKeys'), KEYHOLD_LOG_LEVEL: 'warn', KEYHOLD_DATA_DIR: dir });
const machine = (tenantId: string) => ({ tenantId, role: 'owner' as const, actor: systemActor, scopes: ['credentials:read' as const] });

// Values a single-tenant app might hold; each carries a marker that must never be printed.
const CANARY = {
  STRIPE_SECRET_KEY: 'sk_test_CANARYstripe0001',
  OPENAI_API_KEY: 'sk-CANARYopenai0002',
  ANTHROPIC_API_KEY: 'not-an-anthropic-key-CANARYanthropic0003',
  UNLEASHED_API_ID: '0c0ffee0-CA4A-4b1d-8000-000000000004',
  UNLEASHED_API_KEY: 'CANARYunleashed0005',
  SHOPIFY_ACCESS_TOKEN: 'shpat_CANARYshopify0006',
  SHOPIFY_API_SECRET: 'CANARYshopifyapp0007',
  XERO_REFRESH_TOKEN: 'CANARYxero0008',
  DATABASE_URL: 'postgres://app:CANARYdb0009@db.example/app',
};
const canaries = ['CANARY', 'c0ffee0'];

describe('keyhold import-env', () => {
  it('imports well-known variables through the credentials service, reports what it skipped and why, and never prints a value', async () => {
    const tenant = await services.newTenant('import-env');
    const file = path.join(dir, 'single-tenant.env');
    await writeFile(file, `${Object.entries(CANARY).map(([k, v]) => `${k}="${v}"`).join('\n')}\nSHOPIFY_STORE_DOMAIN=acme-import.myshopify.com\n# a comment\n`);

    const dry = await runCli(['import-env', '--tenant', tenant.slug, '--file', file, '--dry-run'], env());
    expect(dry.code, dry.output).toBe(1); // the malformed Anthropic key
    expect(dry.stdout).toContain('Dry run: nothing saved.');
    expect(dry.stdout).toMatch(/would import +stripe +from STRIPE_SECRET_KEY/);
    expect((await services.connections.list({ ...machine(tenant.id), scopes: undefined }, { page: 1, limit: 50 })).items).toEqual([]);

    const run = await runCli(['import-env', '--tenant', tenant.slug, '--file', file], env());
    expect(run.code, run.output).toBe(1);
    for (const marker of canaries) {
      expect(run.output).not.toContain(marker);
      expect(dry.output).not.toContain(marker);
    }
    const report = run.stdout;
    expect(report).toMatch(/imported +stripe +from STRIPE_SECRET_KEY \(not verified; --verify checks first\)/);
    expect(report).toMatch(/imported +openai +from OPENAI_API_KEY/);
    expect(report).toMatch(/imported +shopify +from SHOPIFY_ACCESS_TOKEN, SHOPIFY_STORE_DOMAIN/);
    expect(report).toMatch(/imported +unleashed +from UNLEASHED_API_ID, UNLEASHED_API_KEY/);
    expect(report).toMatch(/NOT imported +anthropic +from ANTHROPIC_API_KEY: ANTHROPIC_API_KEY: does not look like an? Anthropic api key/);
    expect(report).toMatch(/skipped +shopify +from SHOPIFY_API_SECRET: the app's own credentials, not a tenant's: set KEYHOLD_OAUTH_SHOPIFY_CLIENT_ID/);
    expect(report).toMatch(/skipped +xero +from XERO_REFRESH_TOKEN: XERO_ACCESS_TOKEN \(Access token\) missing/);
    expect(report).toContain('1 other variable(s) left alone: DATABASE_URL');

    // Stored as given, encrypted in the tenant's vault.
    const stripe = await services.connections.readForMachine(machine(tenant.id), 'stripe');
    expect(stripe.credentials).toEqual({ apiKey: CANARY.STRIPE_SECRET_KEY });
    const unleashed = await services.connections.readForMachine(machine(tenant.id), 'unleashed');
    expect(unleashed.credentials).toEqual({ apiId: CANARY.UNLEASHED_API_ID, apiKey: CANARY.UNLEASHED_API_KEY });
    const shopify = await services.connections.readForMachine(machine(tenant.id), 'shopify');
    expect(shopify.config).toMatchObject({ storeDomain: 'acme-import.myshopify.com' });

    // Audited as the CLI operator, with field names only.
    const admin = await adminClient();
    try {
      const { rows } = await admin.query(`select metadata::text as m, user_agent from audit_logs where tenant_id = $1 and action = 'api_credentials.create'`, [tenant.id]);
      expect(rows).toHaveLength(4);
      expect(rows.every((r) => r.user_agent.startsWith('keyhold-cli/') && !r.m.includes('CANARY'))).toBe(true);
    } finally {
      await admin.end();
    }

    // Running it again changes nothing.
    const again = await runCli(['import-env', '--tenant', tenant.slug, '--file', file, '--json'], env());
    const results = JSON.parse(again.stdout).results as Array<{ provider: string; outcome: string; reason?: string }>;
    expect(results.find((r) => r.provider === 'stripe')).toMatchObject({ outcome: 'skipped', reason: expect.stringContaining('already connected') });
    expect(again.output).not.toContain('CANARY');
  }, 120_000);

  it('--verify checks each credential with the provider (the sandbox) and saves only those it accepts', async () => {
    const tenant = await services.newTenant('import-verify');
    sandbox.seed('stripe', { apiKey: 'sk_test_CANARYaccepted' });
    const file = path.join(dir, 'verify.env');
    await writeFile(file, 'STRIPE_SECRET_KEY=sk_test_CANARYaccepted\nOPENAI_API_KEY=sk-CANARYunknown\n');
    const providers = { KEYHOLD_PROVIDER_STRIPE_BASE_URL: sandbox.baseUrlFor('stripe'), KEYHOLD_PROVIDER_OPENAI_BASE_URL: sandbox.baseUrlFor('openai') };

    const run = await runCli(['import-env', '--tenant', tenant.id, '--file', file, '--verify'], { ...env(), ...providers });
    expect(run.code, run.output).toBe(1);
    expect(run.stdout).toMatch(/imported +stripe +from STRIPE_SECRET_KEY \(verified with the provider\)/);
    expect(run.stdout).toMatch(/NOT imported +openai +from OPENAI_API_KEY: OpenAI refused these credentials \(HTTP 401\); nothing was saved/);
    expect(run.output).not.toContain('CANARY');
    const saved = await services.connections.list({ ...machine(tenant.id), scopes: undefined }, { page: 1, limit: 50 });
    expect(saved.items.map((c) => c.service_name)).toEqual(['stripe']);
  }, 120_000);
  it('--dry-run --verify saves no connection and says the tests it ran are in the audit log', async () => {
    const tenant = await services.newTenant('import-dry-verify');
    sandbox.seed('stripe', { apiKey: 'sk_test_CANARYdryverify' });
    const file = path.join(dir, 'dry-verify.env');
    await writeFile(file, 'STRIPE_SECRET_KEY=sk_test_CANARYdryverify\n');
    const providers = { KEYHOLD_PROVIDER_STRIPE_BASE_URL: sandbox.baseUrlFor('stripe') };

    const run = await runCli(['import-env', '--tenant', tenant.slug, '--file', file, '--dry-run', '--verify'], { ...env(), ...providers });
    expect(run.code, run.output).toBe(0);
    expect(run.stdout).not.toContain('nothing saved');
    expect(run.stdout).toContain('Dry run: no connection saved; each --verify test with a provider is recorded in the audit log (api_credentials.test).');
    expect(run.stdout).toMatch(/would import +stripe +from STRIPE_SECRET_KEY \(verified with the provider\)/);
    const json = JSON.parse((await runCli(['import-env', '--tenant', tenant.slug, '--file', file, '--dry-run', '--verify', '--json'], { ...env(), ...providers })).stdout);
    expect(json).toMatchObject({ dryRun: true, auditedTests: 1 });

    const admin = await adminClient();
    try {
      const { rows } = await admin.query(`select action from audit_logs where tenant_id = $1 and action like 'api_credentials.%' order by action`, [tenant.id]);
      expect(rows.map((r) => r.action)).toEqual(['api_credentials.test', 'api_credentials.test']);
    } finally {
      await admin.end();
    }
    expect((await services.connections.list({ ...machine(tenant.id), scopes: undefined }, { page: 1, limit: 50 })).items).toEqual([]);
  }, 120_000);

  it('names a tenant that does not exist, by id or by slug, and exits 1', async () => {
    const file = path.join(dir, 'no-tenant.env');
    await writeFile(file, 'STRIPE_SECRET_KEY=sk_test_CANARYnotenant\n');
    const missingId = crypto.randomUUID();
    for (const ref of [missingId, `no-such-tenant-${missingId.slice(0, 8)}`]) {
      const run = await runCli(['import-env', '--tenant', ref, '--file', file], env());
      expect(run.code, run.output).toBe(1);
      expect(run.output).toMatch(new RegExp(`^keyhold import-env: No tenant '${ref}'$`, 'm'));
      expect(run.output).not.toContain('no result');
      expect(run.output).not.toContain('CANARY');
    }
  }, 120_000);
});
