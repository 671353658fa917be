import type { Config } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';
import { type RunningKeyhold, startKeyhold } from '../main.js';

const SHUTDOWN_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** Runs the server until a signal; returns -1 so the CLI leaves the process alive. */
export async function runStart(config: Config, log: Logger, hooks: { afterStart?: (k: RunningKeyhold) => Promise<void>; afterStop?: () => Promise<void> } = {}): Promise<number> {
  const running = await startKeyhold(config, log);
  await hooks.afterStart?.(running);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    running.stop().then(() => hooks.afterStop?.()).then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  for (const s of SHUTDOWN_SIGNALS) process.on(s, () => shutdown(s));
  return -1;
}
