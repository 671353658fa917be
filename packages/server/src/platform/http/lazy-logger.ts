import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
const LEVELS: Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/**
 * Fastify gives every request a child logger. With redaction configured, creating a pino child
 * costs real CPU (its bindings go through the redactor) — per request, even when the request
 * never logs. This child is created on the first log call at an enabled level, and only then.
 */
export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Record<string, unknown>, opts: object): FastifyBaseLogger {
  let real: FastifyBaseLogger | undefined;
  const get = () => (real ??= parent.child(bindings, opts));
  const enabled = (level: Level) => (parent as unknown as { isLevelEnabled?: (l: string) => boolean }).isLevelEnabled?.(level) ?? true;
  const lazy = {
    get level() {
      return real?.level ?? parent.level;
    },
    set level(value: string) {
      get().level = value;
    },
    silent: () => undefined,
    child: (b: Record<string, unknown>, o?: object) => get().child(b, o),
  } as unknown as FastifyBaseLogger;
  for (const level of LEVELS) {
    (lazy as unknown as Record<Level, (...args: unknown[]) => void>)[level] = (...args: unknown[]) => {
      if (real || enabled(level)) (get()[level] as (...a: unknown[]) => void)(...args);
    };
  }
  return lazy;
}
