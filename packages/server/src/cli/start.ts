import { constants } from 'node:os';
import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { type RunningKeyhold, startKeyhold } from '../main.js';
import { writeServerState } from './server-state.js';

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const FORCE_EXIT_MS = 20_000;

/** Logging is best effort here: a shutdown must never wait on, or fail with, its own log. */
function note(write: () => void) {
  try {
    write();
  } catch {
    // nothing to do: the log output is gone
  }
}

/**
 * Runs the server until a signal; returns -1 so the CLI leaves the process alive. The first
 * signal drains (KEYHOLD_SHUTDOWN_DRAIN_SECONDS, then HTTP, jobs, pool, then the embedded
 * Postgres) with a limit of the drain time plus 20 s; a second one exits at once. Either way the
 * embedded Postgres is stopped (by its exit hook if not before).
 */
export async function runStart(config: Config, log: Logger, hooks: { afterStart?: (k: RunningKeyhold) => Promise<void>; afterStop?: () => Promise<void>; kind?: 'server' | 'demo' } = {}): Promise<number> {
  const running = await startKeyhold(config, log);
  // Lets `keyhold <command>` find this server's database by itself (see server-state.ts).
  await writeServerState(config, running.url, hooks.kind ?? 'server', log);
  await hooks.afterStart?.(running);
  let stopping = false;
  const shutdown = (signal: (typeof SHUTDOWN_SIGNALS)[number]) => {
    if (stopping) {
      note(() => log.warn({ signal }, 'second signal; exiting without waiting for the shutdown'));
      process.exit(128 + constants.signals[signal]);
    }
    stopping = true;
    // Armed before anything that could stall (a log write included), and unref'd so it never
    // keeps an otherwise finished process alive.
    const limitMs = config.shutdownDrainMs + FORCE_EXIT_MS;
    setTimeout(() => {
      note(() => log.error(`shutdown took longer than ${limitMs / 1000} s; exiting`));
      process.exit(1);
    }, limitMs).unref();
    note(() => log.info({ signal }, 'shutting down'));
    running.stop().then(() => hooks.afterStop?.()).then(
      () => {
        note(() => log.info('stopped'));
        process.exit(0);
      },
      (err: unknown) => {
        note(() => log.error({ err }, 'shutdown failed'));
        process.exit(1);
      },
    );
  };
  for (const s of SHUTDOWN_SIGNALS) process.on(s, () => shutdown(s));
  return -1;
}
