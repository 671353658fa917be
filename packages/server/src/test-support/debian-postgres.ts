import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './free-port.js';

/** Where Debian's `postgresql-NN` packages put their server binaries. */
const DEBIAN_PG_ROOT = '/usr/lib/postgresql';

/** The newest Debian Postgres server's bin directory, or null when the `postgresql` package is not installed. */
export function debianPostgresBin(): string | null {
  if (!existsSync(DEBIAN_PG_ROOT)) return null;
  const versions = readdirSync(DEBIAN_PG_ROOT)
    .filter((v) => /^\d+$/.test(v) && existsSync(path.join(DEBIAN_PG_ROOT, v, 'bin', 'postgres')) && existsSync(path.join(DEBIAN_PG_ROOT, v, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(DEBIAN_PG_ROOT, versions[0], 'bin') : null;
}

export type DebianPostgres = {
  /** Superuser connection to the `keyhold` database, as an operator's migrator would have. */
  adminUrl: string;
  version: string;
  stop(): Promise<void>;
};

/**
 * A throwaway Postgres cluster from Debian's packages: its own data dir under the temp dir, a free
 * loopback port, password (SCRAM) logins over TCP only. As root the server runs as the `postgres`
 * user, which Postgres insists on.
 */
export async function startDebianPostgres(bin: string): Promise<DebianPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), 'keyhold-debian-pg-'));
  chmodSync(dir, 0o700);
  const asUser = process.getuid?.() === 0 ? postgresUser() : {};
  if (asUser.uid !== undefined) chownSync(dir, asUser.uid, asUser.gid!);
  const password = randomBytes(18).toString('base64url');
  const pwfile = path.join(dir, 'pw');
  writeFileSync(pwfile, password, { mode: 0o600 });
  if (asUser.uid !== undefined) chownSync(pwfile, asUser.uid, asUser.gid!);
  const data = path.join(dir, 'data');
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--pwfile', pwfile, '--auth=scram-sha-256', '-E', 'UTF8', '--no-locale'], { ...asUser, cwd: dir, stdio: 'pipe' });
  rmSync(pwfile);
  const port = await freePort();
  const server = spawn(path.join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'], {
    ...asUser,
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr!.on('data', (d) => (log = (log + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => server.on('exit', () => resolve()));
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  try {
    await waitUntilAccepting(`${base}/postgres`, server, () => log);
    await query(`${base}/postgres`, 'create database keyhold');
  } catch (err) {
    server.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const version = execFileSync(path.join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  return {
    adminUrl: `${base}/keyhold`,
    version,
    async stop() {
      // Fast shutdown: clients are disconnected, the cluster stops cleanly.
      if (server.exitCode === null) server.kill('SIGINT');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function postgresUser(): { uid?: number; gid?: number } {
  const [uid, gid] = ['-u', '-g'].map((flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim()));
  return { uid, gid };
}

async function waitUntilAccepting(url: string, server: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`postgres exited during start:\n${log()}`);
    try {
      await query(url, 'select 1');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`postgres did not accept connections within 30 s:\n${log()}`);
}

async function query(url: string, sql: string) {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
