import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The built CLI (`npm test` builds first, as CI does). */
export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export type RunningCli = { child: ChildProcess; output: () => string; stdout: () => string; exited: Promise<number | null> };

export function spawnCli(args: string[], env: Record<string, string>): RunningCli {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run 'npm run build' first`);
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NODE_ENV: 'development', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
export async function runCli(args: string[], env: Record<string, string>) {
  const run = spawnCli(args, env);
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
