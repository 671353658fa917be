import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Sandbox, createSandbox } from '@keyhold/sandbox';
import { afterAll, beforeAll, inject } from 'vitest';
import { freePort } from './free-port.js';
import { migratedScratch } from './index.js';

/** The built CLI (`npm test` builds first, as CI does). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export type RunningCli = { child: ChildProcess; output: () => string; stdout: () => string; exited: Promise<number | null> };

/** `input`: written to the command's stdin, which then ends (a pipe, as in `echo … | keyhold …`). */
export function spawnCli(args: string[], env: Record<string, string>, opts: { input?: string; cwd?: string } = {}): RunningCli {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'development', ...env },
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (d) => {
    out += d;
    stdout += d;
  });
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, stdout: () => stdout, exited };
}

/** Runs a CLI command to completion. */
export async function runCli(args: string[], env: Record<string, string>, opts: { input?: string; cwd?: string } = {}) {
  const run = spawnCli(args, env, opts);
  const code = await run.exited;
  return { code, output: run.output(), stdout: run.stdout() };
}

export async function waitForHealth(port: number, run: RunningCli, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (run.child.exitCode !== null) throw new Error(`keyhold exited early:\n${run.output()}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`/health did not answer within ${timeoutMs} ms:\n${run.output()}`);
}

/**
 * The environment of a `keyhold start` on a scratch database of the suite's Postgres (the roles'
 * passwords and master keys the global setup made), serving `port` with its files in `dataDir`.
 */
export function scratchServerEnv(opts: { adminUrl: string; appPassword: string; jobsPassword: string; masterKeys: string; dataDir: string; port: number }): Record<string, string> {
  return {
    DATABASE_URL: opts.adminUrl,
    KEYHOLD_DB_APP_PASSWORD: opts.appPassword,
    KEYHOLD_DB_JOBS_PASSWORD: opts.jobsPassword,
    KEYHOLD_MASTER_KEYS: opts.masterKeys,
    KEYHOLD_DATA_DIR: opts.dataDir,
    KEYHOLD_PORT: String(opts.port),
    KEYHOLD_LOG_LEVEL: 'warn',
  };
}

/**
 * `count` Keyhold server processes (`keyhold start`) on one scratch database, each with its own
 * job runner, the providers in `providers` played by `sandbox`. Returns them once /health answers,
 * and a stop that ends them all.
 */
export async function startServers(count: number, o: { adminUrl: string; appPassword: string; jobsPassword: string; masterKeys: string; sandbox: { baseUrlFor(p: string): string }; providers: string[] }) {
  const servers: Array<{ run: RunningCli; url: string }> = [];
  for (let i = 0; i < count; i++) {
    const port = await freePort();
    const run = spawnCli(['start'], {
      DATABASE_URL: o.adminUrl,
      KEYHOLD_DB_APP_PASSWORD: o.appPassword,
      KEYHOLD_DB_JOBS_PASSWORD: o.jobsPassword,
      KEYHOLD_PORT: String(port),
      KEYHOLD_MASTER_KEYS: o.masterKeys,
      KEYHOLD_JWT_SECRET: Buffer.alloc(32, 7).toString('base64'),
      KEYHOLD_ADMIN_JWT_SECRET: Buffer.alloc(32, 8).toString('base64'),
      ...Object.fromEntries(o.providers.map((p) => [`KEYHOLD_PROVIDER_${p.toUpperCase().replaceAll('-', '_')}_BASE_URL`, o.sandbox.baseUrlFor(p)])),
      KEYHOLD_LOG_LEVEL: 'warn',
    });
    servers.push({ run, url: `http://127.0.0.1:${port}` });
  }
  await Promise.all(servers.map((s) => waitForHealth(Number(new URL(s.url).port), s.run)));
  return {
    servers,
    async stop() {
      for (const s of servers) s.run.child.kill('SIGTERM');
      await Promise.all(servers.map((s) => s.run.exited));
    },
  };
}

/**
 * For a test file: before its tests, a sandbox, a scratch database and `count` server processes
 * on it (providers in `providers` played by the sandbox); all stopped after them.
 */
export function serverCluster(count: number, providers: string[]) {
  const state: { sandbox?: Sandbox; scratch?: Awaited<ReturnType<typeof migratedScratch>>; cluster?: Awaited<ReturnType<typeof startServers>> } = {};
  beforeAll(async () => {
    state.sandbox = await createSandbox();
    state.scratch = await migratedScratch();
    state.cluster = await startServers(count, {
      adminUrl: state.scratch.adminUrl, appPassword: inject('appPassword'), jobsPassword: inject('jobsPassword'), masterKeys: inject('masterKeys'),
      sandbox: state.sandbox, providers,
    });
  }, 120_000);
  afterAll(async () => {
    await state.cluster?.stop();
    await state.scratch?.db.close();
    await state.scratch?.drop();
    await state.sandbox?.close();
  });
  return {
    get sandbox() { return state.sandbox!; },
    get servers() { return state.cluster!.servers; },
  };
}
