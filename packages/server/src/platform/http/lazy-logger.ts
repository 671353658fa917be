import type { FastifyBaseLogger } from 'fastify';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type Parent = FastifyBaseLogger & { isLevelEnabled?: (l: string) => boolean };

/**
 * Fastify gives every request a child logger. With redaction configured, creating a pino child
 * costs real CPU (its bindings go through the redactor) — per request, even when the request
 * never logs. This child is created on the first log call at an enabled level, and only then.
 * A class, so a request that never logs allocates one small object (no closures per level).
 */
class LazyChild {
  private real: FastifyBaseLogger | undefined;
  constructor(private readonly parent: Parent, private readonly bindings: Record<string, unknown>, private readonly opts: object) {}
  private get(): FastifyBaseLogger {
    return (this.real ??= this.parent.child(this.bindings, this.opts));
  }
  private log(level: Level, args: unknown[]) {
    if (this.real || (this.parent.isLevelEnabled?.(level) ?? true)) (this.get()[level] as (...a: unknown[]) => void)(...args);
  }
  get level(): string {
    return this.real?.level ?? this.parent.level;
  }
  set level(value: string) {
    this.get().level = value;
  }
  silent() {}
  child(bindings: Record<string, unknown>, opts?: object) {
    return this.get().child(bindings, opts);
  }
  fatal(...args: unknown[]) {
    this.log('fatal', args);
  }
  error(...args: unknown[]) {
    this.log('error', args);
  }
  warn(...args: unknown[]) {
    this.log('warn', args);
  }
  info(...args: unknown[]) {
    this.log('info', args);
  }
  debug(...args: unknown[]) {
    this.log('debug', args);
  }
  trace(...args: unknown[]) {
    this.log('trace', args);
  }
}

export function lazyChildLogger(parent: FastifyBaseLogger, bindings: Record<string, unknown>, opts: object): FastifyBaseLogger {
  return new LazyChild(parent as Parent, bindings, opts) as unknown as FastifyBaseLogger;
}
