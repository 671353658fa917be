import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, signup } from '../test-support/accounts.js';
import { credentialsFor } from '../test-support/credentials.js';
import { testApp } from '../test-support/index.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** The published packages, by directory under packages/ (one line per package). */
const PUBLISHED = ['contract', 'sdk', 'connect'];

type Manifest = { name: string; version: string; private?: boolean; dependencies?: Record<string, string>; exports: Record<string, Record<string, string>> };
const manifest = (dir: string): Manifest => JSON.parse(readFileSync(path.join(ROOT, 'packages', dir, 'package.json'), 'utf8'));

/**
 * npm as a user runs it: none of the `npm_*` settings of the `npm test` that started this
 * suite (workspace, prefix…) leak into the child.
 */
const npmEnv = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
const npm = (args: string[], cwd: string) => run('npm', args, { cwd, env: npmEnv(), maxBuffer: 32 * 1024 * 1024 });

let work: string;
let tarballs: Array<{ dir: string; file: string; files: string[] }>;
let sandbox: Sandbox;
let t: Awaited<ReturnType<typeof testApp>>;
let keyholdUrl: string;

beforeAll(async () => {
  // Outside the repository, so nothing resolves from its node_modules.
  work = await mkdtemp(path.join(tmpdir(), 'keyhold-packed-'));
  const packs = path.join(work, 'tarballs');
  await mkdir(packs);
  tarballs = [];
  for (const dir of PUBLISHED) {
    const { stdout } = await npm(['pack', '--json', '--pack-destination', packs], path.join(ROOT, 'packages', dir));
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarballs.push({ dir, file: path.join(packs, packed!.filename), files: packed!.files.map((f) => f.path) });
  }
  sandbox = await createSandbox();
  t = await testApp({ providerBaseUrls: Object.fromEntries(sandbox.providers().map((p) => [p, sandbox.baseUrlFor(p)])) });
  keyholdUrl = await t.app.listen({ host: '127.0.0.1', port: 0 });
}, 240_000);

afterAll(async () => {
  await t?.close();
  await sandbox?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the published packages', () => {
  it('are publishable, in step, and their tarballs hold the built dist with types, LICENSE, README and CHANGELOG', () => {
    const versions = new Set(PUBLISHED.map((dir) => manifest(dir).version));
    expect(versions.size).toBe(1);
    const [version] = versions;
    for (const dir of PUBLISHED) {
      const m = manifest(dir);
      expect(m.private, m.name).toBeUndefined();
      // Every @keyhold dependency is pinned to the exact version the packages share.
      for (const [dep, range] of Object.entries(m.dependencies ?? {})) if (dep.startsWith('@keyhold/')) expect(range, `${m.name} → ${dep}`).toBe(version);
      const { files } = tarballs.find((p) => p.dir === dir)!;
      expect(files).toEqual(expect.arrayContaining(['package.json', 'LICENSE', 'README.md', 'CHANGELOG.md']));
      for (const [sub, conditions] of Object.entries(m.exports)) {
        for (const condition of ['types', 'default']) {
          const target = conditions[condition];
          expect(target, `${m.name} ${sub} has a '${condition}' condition`).toMatch(/^\.\/dist\//);
          expect(files, `${m.name} ${sub} → ${target}`).toContain(target!.slice(2));
        }
      }
      expect(files.filter((f) => /\.test\.|tsbuildinfo/.test(f)), m.name).toEqual([]);
    }
    expect(manifest('sdk').dependencies?.['@keyhold/contract']).toBe(version);
  });

  it('install from their tarballs into an empty directory and work against a running Keyhold, types included', async () => {
    const app = path.join(work, 'app');
    await mkdir(app);
    await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'keyhold-consumer', private: true, type: 'module' }));
    // The official Stripe client at the version the repository tests with (in npm's cache).
    const stripeVersion = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/stripe/package.json'), 'utf8')).version as string;
    const installed = await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs.map((p) => p.file), `stripe@${stripeVersion}`], app);
    expect(installed.stderr).not.toMatch(/EBADENGINE|ERESOLVE/);

    const acct = await signup(t.app);
    const apiKey = (await createApiKey(t.app, t.clock, acct, { name: 'packed', scopes: ['credentials:read', 'credentials:write'], role: 'admin' })).key;
    const { body: stripe, seed } = credentialsFor('stripe');
    sandbox.seed('stripe', seed);
    await writeFile(path.join(app, 'use.mjs'), USE_SDK);
    const { stdout } = await run(process.execPath, ['use.mjs'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', KEYHOLD_URL: keyholdUrl, KEYHOLD_API_KEY: apiKey, TENANT: acct.slug, STRIPE_KEY: stripe.apiKey as string },
    });
    const out = JSON.parse(stdout);
    expect(out.saved).toBe(201);
    expect(out.resolvedFrom).toEqual([expect.stringContaining(app), expect.stringContaining(app), expect.stringContaining(app)]);
    expect(out.providers).toEqual(expect.arrayContaining(['stripe', 'xero', 'openai']));
    expect(out.beforeConnecting).toEqual({ error: 'IntegrationNotConfigured', code: 'NOT_FOUND', actions: [expect.objectContaining({ label: 'Connect Stripe' })] });
    expect(out.read).toEqual({ provider: 'stripe', label: 'default', sameKey: true, credentialVersion: 1, baseUrl: sandbox.baseUrlFor('stripe') });
    // The official client built by the SDK reached the sandbox the server is configured with.
    expect(out.balance).toBe('balance');
    expect(out.contract).toEqual({ notFoundStatus: 404, envelopeParses: true });

    // The declarations resolve through the `types` conditions: a wrong use is a type error.
    await writeFile(path.join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023', 'dom'], strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['use-types.ts'] }));
    await writeFile(path.join(app, 'use-types.ts'), USE_TYPES);
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const typecheck = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: app }).then(() => '', (err: { stdout: string }) => err.stdout);
    expect(typecheck).toBe('');
  }, 240_000);
});

/** A consumer's script, plain JavaScript, run by Node in the install directory. */
const USE_SDK = `
import { Keyhold, IntegrationNotConfigured } from '@keyhold/sdk';
import { requireTenantStripeClient } from '@keyhold/sdk/stripe';
import { ErrorEnvelopeSchema, defaultStatusFor } from '@keyhold/contract';

const { KEYHOLD_URL, KEYHOLD_API_KEY, TENANT, STRIPE_KEY } = process.env;
const keyhold = new Keyhold({ baseUrl: KEYHOLD_URL, apiKey: KEYHOLD_API_KEY });
const api = (p, init = {}) => fetch(KEYHOLD_URL + p, { ...init, headers: { authorization: 'Bearer ' + KEYHOLD_API_KEY, 'content-type': 'application/json' } });

const providers = (await (await api('/api/providers')).json()).data.providers.map((p) => p.id);
const beforeConnecting = await keyhold.credentials('stripe').then(() => 'found', (e) => ({ error: e instanceof IntegrationNotConfigured ? 'IntegrationNotConfigured' : String(e), code: e.code, actions: e.actions }));
const saving = await api('/api/api-credentials', { method: 'POST', body: JSON.stringify({ serviceName: 'stripe', apiKey: STRIPE_KEY }) });
const saved = saving.status === 201 ? 201 : await saving.text();
if (saved !== 201) {
  console.log(JSON.stringify({ saved }));
  process.exit(0);
}
const c = await keyhold.credentials('stripe');
const stripe = await requireTenantStripeClient(keyhold, TENANT);
const balance = (await stripe.balance.retrieve()).object;
console.log(JSON.stringify({
  resolvedFrom: ['@keyhold/sdk', '@keyhold/sdk/stripe', '@keyhold/contract'].map((m) => import.meta.resolve(m)),
  providers,
  beforeConnecting,
  saved,
  read: { provider: c.provider, label: c.label, sameKey: c.credentials.apiKey === STRIPE_KEY, credentialVersion: c.credentialVersion, baseUrl: c.baseUrl },
  balance,
  contract: { notFoundStatus: defaultStatusFor('NOT_FOUND'), envelopeParses: ErrorEnvelopeSchema.safeParse({ success: false, error: 'x', code: 'NOT_FOUND', requestId: 'r' }).success },
}));
`;

/** A consumer's TypeScript: compiles only if the packages' declarations are found and precise. */
const USE_TYPES = `
import { Keyhold, type ConnectionCredentials } from '@keyhold/sdk';
import { getTenantStripeClient } from '@keyhold/sdk/stripe';
import { type ProviderCredentials, ERROR_CODES } from '@keyhold/contract';

export async function use(keyhold: Keyhold): Promise<string> {
  const c: ConnectionCredentials<'stripe'> = await keyhold.credentials('stripe');
  const key: string = c.credentials.apiKey;
  const base: string | null = c.baseUrl;
  // @ts-expect-error Stripe's credentials have no such field
  c.credentials.accessToken;
  // @ts-expect-error no such provider
  await keyhold.credentials('not-a-provider');
  const fields: ProviderCredentials<'stripe'> = { apiKey: key };
  const stripe = await getTenantStripeClient(keyhold, 'acme');
  const balance = await stripe?.balance.retrieve();
  return [fields.apiKey, base, balance?.object, Object.keys(ERROR_CODES)[0]].join();
}
`;
