import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';

/**
 * A running server leaves `<data dir>/keyhold-server.json` (no secrets: where its embedded Postgres
 * listens, its URL, the provider base URLs it was started with) so CLI commands find its database
 * without extra variables. The demo writes its own under `<data dir>/demo`.
 */
export const STATE_FILE = 'keyhold-server.json';

const ServerState = z.object({
  pid: z.number().int(),
  url: z.string(),
  kind: z.enum(['server', 'demo']),
  dataDir: z.string(),
  database: z.discriminatedUnion('mode', [
    z.object({ mode: z.literal('embedded'), pgDataDir: z.string(), pgPort: z.number().int() }),
    z.object({ mode: z.literal('external') }),
  ]),
  providerBaseUrls: z.record(z.string(), z.string()).default({}),
  allowPrivateProviderUrls: z.boolean().default(false),
  startedAt: z.string(),
});
export type ServerState = z.infer<typeof ServerState>;

/**
 * Kept after a stop (the pid tells whether it runs), so commands still find a stopped demo's
 * database. Only for the embedded Postgres: with DATABASE_URL commands use that. Best effort: a
 * read-only data dir costs the CLI its shortcut, never the server its start.
 */
export async function writeServerState(config: Config, url: string, kind: ServerState['kind'], log: Pick<Logger, 'warn'>): Promise<void> {
  if (config.database.mode !== 'embedded') return;
  const state: ServerState = {
    pid: process.pid,
    url,
    kind,
    dataDir: config.dataDir,
    database: { mode: 'embedded', pgDataDir: config.database.pgDataDir, pgPort: config.database.pgPort },
    providerBaseUrls: kind === 'demo' ? config.providerBaseUrls : {},
    allowPrivateProviderUrls: kind === 'demo' && config.allowPrivateProviderUrls,
    startedAt: new Date().toISOString(),
  };
  try {
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(path.join(config.dataDir, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  } catch (err) {
    log.warn({ err: { message: (err as Error).message } }, `could not write ${STATE_FILE}; CLI commands need KEYHOLD_PG_PORT to find this server's database`);
  }
}

export function readServerState(dataDir: string): ServerState | undefined {
  const file = path.join(dataDir, STATE_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return ServerState.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Alive and still a node process (a pid can be reused after a crash). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return true; // no /proc: trust the signal check
  }
}

/** The Keyhold checkout this CLI belongs to (dist/cli → packages/server → repo root). */
export const CHECKOUT = fileURLToPath(new URL('../../../../', import.meta.url));

export type Located = { config: Config; note?: string };

/**
 * Which server's database a one-shot command should use. With DATABASE_URL or an explicit
 * KEYHOLD_PG_* setting, exactly what the environment says. Otherwise the data dir (`--data-dir`,
 * KEYHOLD_DATA_DIR, `./.keyhold`, else the checkout's `.keyhold`) and its demo: a running server
 * first, then one that ran before, then the plain data dir.
 */
export function locateServer(config: Config, env: NodeJS.ProcessEnv, opts: { dataDirChosen: boolean }): Located {
  if (config.database.mode === 'external' || env.KEYHOLD_PG_DATA_DIR || env.KEYHOLD_PG_PORT) return { config };
  const roots = [config.dataDir];
  const checkoutDir = path.join(CHECKOUT, '.keyhold');
  if (!opts.dataDirChosen && !env.KEYHOLD_DATA_DIR && path.resolve(checkoutDir) !== path.resolve(config.dataDir)) roots.push(checkoutDir);
  const candidates = roots.flatMap((r) => [r, path.join(r, 'demo')]);
  const states = candidates.map((dir) => ({ dir, state: readServerState(dir) }));
  const live = states.find((s) => s.state && isAlive(s.state.pid));
  const previous = live ?? (existsSync(path.join(config.dataDir, 'pg')) ? undefined : states.find((s) => s.state));
  if (!previous?.state || previous.state.database.mode !== 'embedded') return { config };
  const s = previous.state;
  const db = s.database as Extract<ServerState['database'], { mode: 'embedded' }>;
  const located: Config = {
    ...config,
    dataDir: s.dataDir,
    database: { mode: 'embedded', pgDataDir: db.pgDataDir, pgPort: db.pgPort, poolMax: config.database.poolMax },
    providerBaseUrls: { ...s.providerBaseUrls, ...config.providerBaseUrls },
    allowPrivateProviderUrls: config.allowPrivateProviderUrls || s.allowPrivateProviderUrls,
  };
  const what = s.kind === 'demo' ? 'the demo' : 'the server';
  const note = s.dataDir === config.dataDir && s.kind === 'server' ? undefined : `Using the database of ${what} in ${s.dataDir}${live ? ` (running, ${s.url})` : ''}`;
  return { config: located, ...(note ? { note } : {}) };
}
