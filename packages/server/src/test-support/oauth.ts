import { afterAll, beforeAll } from 'vitest';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import type { LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { Secret } from '../platform/crypto/secret.js';
import { type Account, bearer } from './accounts.js';
import { TEST_PUBLIC_URL, type TestOptions, migratedScratch, testApp } from './index.js';

export const OAUTH_PROVIDERS = ['xero', 'quickbooks', 'shopify', 'amazon-sp-api', 'messenger', 'slack'] as const;
export type OAuthProviderId = (typeof OAUTH_PROVIDERS)[number];

/** The platform's OAuth app at each sandbox provider (client id/secret), as an operator configures it. */
export const appFor = (provider: string) => ({ clientId: `keyhold-${provider}-app`, clientSecret: `cs-${provider}-0123456789abcdef` });

/** Points every OAuth provider's API and OAuth URLs at the sandbox and registers Keyhold's app there. */
export function oauthOptions(sandbox: Sandbox, publicUrl = TEST_PUBLIC_URL): TestOptions {
  const urls = Object.fromEntries(OAUTH_PROVIDERS.map((p) => [p, sandbox.baseUrlFor(p)]));
  const apiUrls = Object.fromEntries(sandbox.providers().map((p) => [p, sandbox.baseUrlFor(p)]));
  for (const p of OAUTH_PROVIDERS) {
    const app = appFor(p);
    sandbox.oauth.registerApp(p, { ...app, redirectUri: `${publicUrl}/api/integrations/${p}/callback` });
  }
  return {
    providerBaseUrls: { ...apiUrls, ...urls },
    providerAuthUrls: urls,
    allowPrivateProviderUrls: true,
    publicUrl,
    oauthApps: Object.fromEntries(OAUTH_PROVIDERS.map((p) => [p, { clientId: appFor(p).clientId, clientSecret: new Secret(appFor(p).clientSecret) }])),
  };
}

/**
 * The app with every OAuth provider played by a fresh sandbox. `scratch: true` gives it a database
 * of its own, so background sweeps see only this file's connections.
 */
export async function oauthHarness(opts: TestOptions & { scratch?: boolean } = {}) {
  const sandbox = await createSandbox();
  const scratch = opts.scratch ? await migratedScratch() : null;
  const t = await testApp({ ...oauthOptions(sandbox), ...opts, ...(scratch ? { db: scratch.db } : {}) });
  return {
    sandbox,
    t,
    scratch,
    /** Runs a whole connect flow like a browser would; returns the callback's response. */
    connect: (acct: Account, provider: string, o: ConnectOptions = {}) => connectWith(t.app, sandbox, acct, provider, o),
    async close() {
      await t.close();
      await sandbox.close();
      await scratch?.drop();
    },
  };
}

export type ConnectOptions = {
  label?: string;
  shop?: string;
  returnTo?: string;
  /** Appended to the provider's consent URL: sandbox_account, sandbox_count, sandbox_deny. */
  consent?: Record<string, string>;
  /** Replaces the callback's query before it reaches Keyhold (tampering tests). */
  tamper?: (query: URLSearchParams) => void;
  /** Send this binding cookie instead of the one Keyhold set (another browser: empty string). */
  cookie?: string;
  accept?: string;
};

export type Started = { authUrl: string; cookie: string };

/** Step 1: Keyhold's authorize endpoint; returns the consent URL and the binding cookie it set. */
export async function startConnect(app: Awaited<ReturnType<typeof testApp>>['app'], acct: Account, provider: string, o: ConnectOptions = {}): Promise<Started> {
  const qs = new URLSearchParams({ ...(o.label ? { label: o.label } : {}), ...(o.shop ? { shop: o.shop } : {}), ...(o.returnTo ? { returnTo: o.returnTo } : {}) });
  const res = await app.inject({ method: 'GET', url: `/api/integrations/${provider}/authorize?${qs}`, headers: bearer(acct.accessToken) });
  if (res.statusCode !== 200) throw Object.assign(new Error(`authorize failed: ${res.statusCode} ${res.body}`), { res });
  const setCookie = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  return { authUrl: res.json().data.authUrl, cookie: setCookie.map((c) => c.split(';')[0]).join('; ') };
}

/** Step 2: the provider's consent page (the sandbox consents automatically); returns Keyhold's callback URL. */
export async function consentAt(started: Started, consent: Record<string, string> = {}): Promise<URL> {
  const url = new URL(started.authUrl);
  for (const [k, v] of Object.entries(consent)) url.searchParams.set(k, v);
  const res = await fetch(url, { redirect: 'manual' });
  const location = res.headers.get('location');
  if (res.status !== 302 || !location) throw new Error(`consent did not redirect: ${res.status} ${await res.text()}`);
  return new URL(location);
}

/** Step 3: the browser follows the redirect to Keyhold's callback, with its cookie. */
export async function callbackWith(app: Awaited<ReturnType<typeof testApp>>['app'], callback: URL, cookie: string, accept?: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `${callback.pathname}${callback.search}`, headers: { ...(cookie ? { cookie } : {}), ...(accept ? { accept } : {}) } });
}

async function connectWith(app: Awaited<ReturnType<typeof testApp>>['app'], sandbox: Sandbox, acct: Account, provider: string, o: ConnectOptions) {
  void sandbox;
  const started = await startConnect(app, acct, provider, o);
  const callback = await consentAt(started, o.consent);
  if (o.tamper) {
    const q = new URLSearchParams(callback.search);
    o.tamper(q);
    callback.search = q.toString();
  }
  const res = await callbackWith(app, callback, o.cookie ?? started.cookie, o.accept);
  return Object.assign(res, { started, callback });
}

/**
 * An OAuth harness on a scratch database whose process can "crash" right after a provider's next
 * answer (the answer is lost, as when a node dies mid-refresh). Call inside a test file's top level.
 */
export function useCrashableHarness() {
  let crashNext = false;
  const ref = {
    h: undefined as unknown as Awaited<ReturnType<typeof oauthHarness>>,
    /** The next answer from a provider's token endpoint is lost. */
    crashAfterNextAnswer: () => void (crashNext = true),
  };
  beforeAll(async () => {
    ref.h = await oauthHarness({
      scratch: true,
      afterProviderAnswer: () => {
        if (crashNext) {
          crashNext = false;
          throw new Error('injected crash after the provider answered');
        }
      },
    });
  });
  afterAll(() => ref.h.close());
  return ref;
}

/** Rows of one query as the scratch database's owner (seeing past RLS), on its own short-lived client. */
export async function adminQuery(adminUrl: string, sql: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows;
  } finally {
    await c.end();
  }
}
