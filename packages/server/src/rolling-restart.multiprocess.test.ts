import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { totpAt } from './test-support/accounts.js';
import { type RunningCli, runCli, spawnCli, waitForHealth } from './test-support/cli.js';
import { type DebianPostgres, debianPostgresBin, startDebianPostgres } from './test-support/debian-postgres.js';
import { freePort } from './test-support/free-port.js';
import { type LoadBalancer, startLoadBalancer } from './test-support/round-robin.js';

/**
 * The deployment docs/deploy.md describes, run for a minute: three `keyhold start` processes in
 * production mode on one Postgres from Debian's `postgresql` package (not the embedded one), behind
 * a round-robin load balancer that takes a node out when its /ready fails. Tenants sign in, read
 * credentials, call Stripe through the proxy and save credentials the whole time, while one node
 * is restarted the way systemd does it (SIGTERM, then start again): no request may fail.
 */
const bin = debianPostgresBin();
const LOAD_MS = 60_000;
const RESTART_AT_MS = 20_000;
const USERS = 6;
/** Credentials each user creates before its saves become updates (the trial plan allows 10 connections). */
const SAVED_PER_USER = 5;
/**
 * Each user's pace at most (one request per 25 ms): on a fast machine the proxy share stays under
 * Keyhold's limit for one Stripe connection (25/s), which would otherwise answer 429 by design.
 */
const MIN_INTERVAL_MS = 25;

if (!bin) {
  const why = 'no Debian Postgres binaries under /usr/lib/postgresql (apt-get install postgresql; .ci/run installs it)';
  // CI installs the package, so there a missing server is a broken setup, not a reason to skip.
  if (process.env.CI) throw new Error(`rolling restart test: ${why}`);
  console.warn(`rolling restart test skipped: ${why}`);
}

type Node = { port: number; run: RunningCli };
type Failure = { op: string; status: number; body: string; atMs: number };

describe.skipIf(!bin)('three nodes on one Debian Postgres', () => {
  let postgres: DebianPostgres;
  let sandbox: Sandbox;
  let lb: LoadBalancer;
  let dataDir: string;
  let env: Record<string, string>;
  const nodes: Node[] = [];

  const startNode = (port: number): Node => ({ port, run: spawnCli(['start'], { ...env, KEYHOLD_PORT: String(port) }) });

  beforeAll(async () => {
    postgres = await startDebianPostgres(bin!);
    sandbox = await createSandbox();
    dataDir = mkdtempSync(path.join(tmpdir(), 'keyhold-rolling-'));
    env = {
      NODE_ENV: 'production',
      DATABASE_URL: postgres.adminUrl,
      KEYHOLD_DB_APP_PASSWORD: randomBytes(18).toString('base64url'),
      KEYHOLD_DB_JOBS_PASSWORD: randomBytes(18).toString('base64url'),
      KEYHOLD_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      KEYHOLD_JWT_SECRET: randomBytes(32).toString('base64'),
      KEYHOLD_ADMIN_JWT_SECRET: randomBytes(32).toString('base64'),
      KEYHOLD_PUBLIC_URL: 'https://keyhold.example.test',
      KEYHOLD_TRUST_PROXY: 'true',
      KEYHOLD_SIGNUP: 'open',
      KEYHOLD_SHUTDOWN_DRAIN_SECONDS: '2',
      KEYHOLD_DATA_DIR: dataDir,
      KEYHOLD_PROVIDER_STRIPE_BASE_URL: sandbox.baseUrlFor('stripe'),
      KEYHOLD_LOG_LEVEL: 'warn',
    };
    // As in production: the migrator runs once, then the nodes start on a migrated database.
    const migrated = await runCli(['migrate'], env);
    expect(migrated.code, migrated.output).toBe(0);
    for (let i = 0; i < 3; i++) nodes.push(startNode(await freePort()));
    await Promise.all(nodes.map((n) => waitForHealth(n.port, n.run)));
    lb = await startLoadBalancer(nodes.map((n) => `http://127.0.0.1:${n.port}`), { checkEveryMs: 200 });
  }, 120_000);

  afterAll(async () => {
    await lb?.close();
    for (const n of nodes) if (n.run.child.exitCode === null) n.run.child.kill('SIGTERM');
    await Promise.all(nodes.map((n) => n.run.exited));
    await sandbox?.close();
    await postgres?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('serve sign-ins, credential reads, proxy calls and saves for 60 s with no error while one node restarts', async () => {
    const call = async (method: string, url: string, token?: string, body?: object, headers: Record<string, string> = {}) => {
      const res = await fetch(`${lb.url}${url}`, {
        method,
        headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, text: await res.text() };
    };
    const data = (r: { text: string }) => (JSON.parse(r.text) as { data: any }).data;
    const expectStatus = (r: { status: number; text: string }, status: number) => expect(r.status, r.text).toBe(status);

    const users = await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const slug = `rolling-${i}-${randomBytes(3).toString('hex')}`;
        const signedUp = await call('POST', '/api/auth/signup', undefined, { organizationName: `Rolling ${i}`, slug, email: `owner@${slug}.example`, password: `Rolling-${randomBytes(9).toString('base64url')}` });
        expectStatus(signedUp, 201);
        const owner = data(signedUp).accessToken as string;
        // A key that reads credentials needs the owner's step-up code: enrol with the current 30 s
        // step's code, step up with the next one (each code is single use; one step of drift is allowed).
        const setup = await call('POST', '/api/auth/mfa/setup', owner, {});
        const secret = data(setup).secret as string;
        expectStatus(await call('POST', '/api/auth/mfa/enable', owner, { code: await totpAt(secret, new Date()) }), 200);
        const key = await call('POST', '/api/api-keys', owner, { name: 'rolling', scopes: ['credentials:read', 'proxy'] }, { 'x-mfa-code': await totpAt(secret, new Date(Date.now() + 30_000)) });
        expectStatus(key, 201);
        // Sign-ins and saves are an admin's, who has no MFA (an owner's sign-in would ask for a code).
        const email = `admin@${slug}.example`;
        const invited = await call('POST', '/api/users', owner, { email, role: 'admin', method: 'temporary_password' });
        expectStatus(invited, 201);
        const temporary = data(invited).temporaryPassword as string;
        const signedIn = await call('POST', '/api/auth/login', undefined, { tenant: slug, email, password: temporary });
        expectStatus(signedIn, 200);
        // The temporary password opens nothing but its own change.
        const password = `${temporary}-chosen`;
        expectStatus(await call('POST', '/api/auth/password', data(signedIn).accessToken as string, { currentPassword: temporary, newPassword: password }), 200);
        // One Stripe key the proxy and reads use, another that saves verify (Stripe limits per key).
        const [proxyKey, saveKey] = [`sk_live_${randomBytes(12).toString('hex')}`, `sk_live_${randomBytes(12).toString('hex')}`];
        sandbox.seed('stripe', { apiKey: proxyKey });
        sandbox.seed('stripe', { apiKey: saveKey });
        expectStatus(await call('POST', '/api/api-credentials?verify=false', owner, { serviceName: 'stripe', apiKey: proxyKey }), 201);
        return { slug, email, password, admin: data(signedIn).accessToken as string, proxyKey, saveKey, apiKey: data(key).key as string, saves: 0, saved: [] as string[] };
      }),
    );

    type User = (typeof users)[number];
    // What each operation expects back; anything else is a failure.
    const ops: Record<string, (u: User) => Promise<{ status: number; text: string; ok: boolean }>> = {
      login: async (u) => {
        const r = await call('POST', '/api/auth/login', undefined, { tenant: u.slug, email: u.email, password: u.password });
        return { ...r, ok: r.status === 200 && typeof data(r).accessToken === 'string' };
      },
      read: async (u) => {
        const r = await call('GET', '/api/connections/stripe/credentials', u.apiKey);
        return { ...r, ok: r.status === 200 && data(r).credentials.apiKey === u.proxyKey };
      },
      proxy: async (u) => {
        const r = await call('GET', '/api/proxy/stripe/v1/balance', u.apiKey);
        return { ...r, ok: r.status === 200 && (JSON.parse(r.text) as { object?: string }).object === 'balance' };
      },
      // A save creates a credential (verified through the sandbox) while the plan has room for
      // it, then updates the saved ones' non-secret settings in turn.
      save: async (u) => {
        const n = u.saves++;
        if (n < SAVED_PER_USER) {
          const r = await call('POST', '/api/api-credentials', u.admin, { serviceName: 'stripe', label: `save-${n}`, apiKey: u.saveKey });
          if (r.status === 201) u.saved.push(data(r).id as string);
          return { ...r, ok: r.status === 201 };
        }
        const apiVersion = n % 2 ? '2026-10-28.endive' : '2025-09-30.clover';
        const r = await call('PUT', `/api/api-credentials/${u.saved[n % u.saved.length]}`, u.admin, { additionalConfig: { apiVersion } });
        return { ...r, ok: r.status === 200 && data(r).config.apiVersion === apiVersion };
      },
    };
    const mix = ['read', 'proxy', 'read', 'login', 'proxy', 'read', 'save', 'read', 'proxy', 'login'];

    const latencies: number[] = [];
    const counts: Record<string, number> = {};
    const failures: Failure[] = [];
    const started = Date.now();
    const worker = async (u: User, offset: number) => {
      for (let i = offset; Date.now() - started < LOAD_MS; i++) {
        const op = mix[i % mix.length]!;
        const t0 = performance.now();
        let result: { status: number; text: string; ok: boolean };
        try {
          result = await ops[op]!(u);
        } catch (err) {
          result = { status: 0, text: (err as Error).message, ok: false };
        }
        latencies.push(performance.now() - t0);
        counts[op] = (counts[op] ?? 0) + 1;
        if (!result.ok) failures.push({ op, status: result.status, body: result.text.slice(0, 300), atMs: Date.now() - started });
        const spent = performance.now() - t0;
        if (spent < MIN_INTERVAL_MS) await new Promise((r) => setTimeout(r, MIN_INTERVAL_MS - spent));
      }
    };

    // Restart the second node a third of the way in: SIGTERM, wait for it to exit, start it again.
    const restart = (async () => {
      await new Promise((r) => setTimeout(r, RESTART_AT_MS));
      const node = nodes[1]!;
      const signalledAt = Date.now();
      node.run.child.kill('SIGTERM');
      const code = await node.run.exited;
      const stoppedAt = Date.now();
      const again = startNode(node.port);
      nodes[1] = again;
      await waitForHealth(node.port, again.run);
      return { code, output: node.run.output(), drainAndStopMs: stoppedAt - signalledAt, startMs: Date.now() - stoppedAt, servedBefore: lb.stats().served };
    })();

    await Promise.all(users.map((u, i) => worker(u, i)));
    const restarted = await restart;
    const seconds = (Date.now() - started) / 1000;
    const sorted = [...latencies].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!.toFixed(1);
    const stats = lb.stats();
    console.log(
      `rolling restart on ${postgres.version}: ${latencies.length} requests in ${seconds.toFixed(1)} s ` +
        `(${(latencies.length / seconds).toFixed(0)}/s; ${JSON.stringify(counts)}), ${failures.length} errors, ` +
        `latency p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${sorted.at(-1)!.toFixed(1)} ms; ` +
        `restarted node drained and stopped in ${restarted.drainAndStopMs} ms (exit ${restarted.code}), started again in ${restarted.startMs} ms; ` +
        `served per node ${JSON.stringify(Object.values(stats.served))}, retried after a refused connection ${stats.retriedAfterRefusal}`,
    );

    expect(failures).toEqual([]);
    expect(restarted.code, restarted.output).toBe(0);
    // Every node served, and the restarted one again after it came back.
    const url = `http://127.0.0.1:${nodes[1]!.port}`;
    expect(stats.served[url]!).toBeGreaterThan(restarted.servedBefore[url]!);
    expect(Object.values(stats.served).every((n) => n > 50)).toBe(true);
  }, 150_000);
});
