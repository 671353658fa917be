import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { systemClock } from '../platform/clock.js';
import { type Db, createDb } from '../platform/db/database.js';
import { type Logger, createLogger } from '../platform/logger.js';
import { createServices } from '../deps.js';
import { systemActor } from '../platform/context.js';
import { type Catalog, loadCatalog } from '../domains/catalog/catalog.js';
import type { EmailSenderConfig, MetricsAccess, OAuthAppConfig, SignupMode, WebhookConfig } from '../platform/config.js';
import type { Resolve } from '../platform/http/ssrf.js';
import { type KeyRing, keyRing, parseMasterKeys } from '../domains/vault/kek.js';
import type { EventConsumer } from '../domains/events/events.service.js';

export { freePort } from './free-port.js';

/** Signing keys for a test run (random per process; nothing outside the run trusts them). */
export const TEST_KEYS = { tenantKey: randomBytes(32), platformKey: randomBytes(32) };

/** A logger that writes JSON lines into memory, so tests can grep what a run logged. */
export function captureLogger(level = 'info') {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  return { log: createLogger({ level, destination }), lines, text: () => lines.join('\n') };
}

export const silentLogger = () => createLogger({ level: 'silent' });

/** The app role's view of the test database, exactly as the server sees it. */
export function testDb(): Db {
  return createDb({ url: inject('appUrl'), poolMax: 4, log: silentLogger() });
}

/** A migrator (owner-level) client, for tests that tamper with data or inspect the catalog. */
export async function adminClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: inject('adminUrl') });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

/** A direct client logged in as the app role, for tests of what that role may not do. */
export async function appClient(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: inject('appUrl') });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export const uniqueSlug = (prefix = 't') => `${prefix}-${randomBytes(5).toString('hex')}`;

/** Services over the test database plus a helper that seeds a fresh tenant. */
export function testRing() {
  return keyRing(parseMasterKeys(inject('masterKeys'), 'test'));
}

/** Services as one server node configured with `ring` would have them (own DEK cache). */
export type TestOptions = {
  providerBaseUrls?: Record<string, string>;
  /** OAuth URL origins per provider (KEYHOLD_PROVIDER_<ID>_AUTH_URL). */
  providerAuthUrls?: Record<string, string>;
  allowPrivateProviderUrls?: boolean;
  oauthApps?: Record<string, OAuthAppConfig>;
  publicUrl?: string;
  /** Replaces the catalog (e.g. to add a provider played by a real authorization server). */
  catalog?: Catalog;
  afterProviderAnswer?: (connectionId: string) => void;
  log?: Logger;
  breaker?: { threshold: number; cooldownMs: number };
  /** How tenant-supplied host names resolve (a name the test controls, e.g. one that rebinds). */
  resolveHost?: Resolve;
  /** Who may create an organization (default open, as in development). */
  signup?: SignupMode;
  trialDays?: number;
  /** Inbound webhooks: app-level secrets and verify tokens. */
  webhooks?: WebhookConfig;
  /** Outbound webhooks: attempt timeout and jitter source. */
  deliveries?: { timeoutMs?: number; random?: () => number };
  /** testApp: serve this database instead of the shared test database (see migratedScratch). */
  db?: Db;
  /** What acts on drained outbox events. */
  eventConsumers?: EventConsumer[];
  /** The platform's email sender. */
  email?: EmailSenderConfig;
  /** testApp: who may scrape /metrics (default: loopback, as in development; inject() comes from 127.0.0.1). */
  metricsAccess?: MetricsAccess;
  /** testApp: where the built admin console is (default packages/web/dist). */
  adminUiRoot?: string;
  /** The identity provider whose tokens sign users in (KEYHOLD_IDP_*). */
  idp?: import('../platform/idp-config.js').IdpConfig;
};

export const TEST_PUBLIC_URL = 'http://keyhold.test';

export function nodeServices(db: Db, ring: KeyRing, clock = systemClock, opts: TestOptions = {}) {
  return createServices({
    db,
    clock,
    keys: TEST_KEYS,
    ring,
    catalog: opts.catalog ?? loadCatalog({ baseUrlOverrides: opts.providerBaseUrls ?? {}, authUrlOverrides: opts.providerAuthUrls ?? {} }),
    allowPrivateProviderUrls: opts.allowPrivateProviderUrls ?? false,
    oauthApps: opts.oauthApps ?? {},
    publicUrl: opts.publicUrl ?? TEST_PUBLIC_URL,
    ...(opts.afterProviderAnswer ? { afterProviderAnswer: opts.afterProviderAnswer } : {}),
    ...(opts.log ? { log: opts.log } : {}),
    ...(opts.breaker ? { breaker: opts.breaker } : {}),
    ...(opts.resolveHost ? { resolveHost: opts.resolveHost } : {}),
    ...(opts.eventConsumers ? { eventConsumers: opts.eventConsumers } : {}),
    ...(opts.signup ? { signup: opts.signup } : {}),
    ...(opts.trialDays === undefined ? {} : { trialDays: opts.trialDays }),
    ...(opts.webhooks ? { webhooks: opts.webhooks } : {}),
    ...(opts.email ? { email: opts.email } : {}),
    ...(opts.deliveries ? { deliveries: opts.deliveries } : {}),
    ...(opts.idp ? { idp: opts.idp } : {}),
  });
}

export function testServices(db: Db, clock = systemClock, opts: TestOptions = {}) {
  const services = nodeServices(db, testRing(), clock, opts);
  const newTenant = (prefix?: string) =>
    services.tenants.create({ actor: systemActor }, { slug: uniqueSlug(prefix), name: 'Test tenant' });
  return { ...services, newTenant };
}

/** A brand-new empty database on the test cluster, for tests of migrations themselves. */
export async function scratchDatabase(): Promise<{ adminUrl: string; drop(): Promise<void> }> {
  const name = `scratch_${randomBytes(5).toString('hex')}`;
  const admin = await adminClient();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(inject('adminUrl'));
  url.pathname = `/${name}`;
  return {
    adminUrl: url.toString(),
    async drop() {
      const c = await adminClient();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * A migrated scratch database and the app role's pool on it: for tests whose cross-tenant work
 * (schedulers, sweeps) must not touch rows other test files create in parallel.
 */
export async function migratedScratch() {
  const { migrate } = await import('../platform/db/migrate.js');
  const { appRoleUrl } = await import('../platform/config.js');
  const scratch = await scratchDatabase();
  await migrate({ adminUrl: scratch.adminUrl, log: silentLogger() });
  const appUrl = appRoleUrl(scratch.adminUrl, inject('appPassword'));
  return { ...scratch, appUrl, db: createDb({ url: appUrl, poolMax: 6, log: silentLogger() }) };
}

/** A clock tests can move: `clock.advance(ms)`. */
export function movableClock(start = Date.now()) {
  let now = start;
  const clock = () => new Date(now);
  return Object.assign(clock, {
    advance: (ms: number) => {
      now += ms;
    },
    set: (ms: number) => {
      now = ms;
    },
  });
}

/** The whole HTTP app over the test database, with services on a movable clock and captured logs. */
export async function testApp(opts: TestOptions = {}) {
  const { buildApp } = await import('../app.js');
  const db = opts.db ?? testDb();
  const clock = movableClock();
  const logs = captureLogger('debug');
  const services = testServices(db, clock, { log: logs.log, ...opts });
  const app = await buildApp({ logger: logs.log, trustProxy: false, version: 'test', startedAt: new Date(), expectedMigrations: [], db, services, metricsAccess: opts.metricsAccess ?? { mode: 'loopback' }, ...(opts.adminUiRoot ? { adminUiRoot: opts.adminUiRoot } : {}) });
  return {
    app,
    db,
    clock,
    services,
    logs,
    async close() {
      await app.close();
      await db.close();
    },
  };
}

export type TestApp = Awaited<ReturnType<typeof testApp>>;

/** One app for a test file: started before its tests, closed after them, handed over when ready. */
export function useTestApp(ready: (t: TestApp) => void, opts: TestOptions = {}) {
  let t: TestApp | undefined;
  beforeAll(async () => {
    t = await testApp(opts);
    ready(t);
  });
  afterAll(() => t?.close());
}
