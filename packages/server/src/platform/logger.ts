import pino, { type DestinationStream, type LogFn, type Logger } from 'pino';
import { isPostgresError, loggable, loggableFields, loggableText, postgresMessageForLog } from './log-values.js';

export type { Logger };

export type LoggerOptions = { level: string; destination?: DestinationStream };

/** Keys with their own serializer below; every other field goes through `loggable` first. */
const SERIALIZED_KEYS: ReadonlySet<string> = new Set(['req', 'res', 'err']);

/**
 * The Keyhold logger. Logging is never allowed to hurt the process: every value is made plain,
 * bounded and redacted before pino stringifies it (see log-values.ts), and a log call that fails
 * anyway is dropped rather than thrown into a request, a socket handler or a shutdown.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const logger = pino(
    {
      level: opts.level,
      formatters: {
        log: (obj) => loggableFields(obj, SERIALIZED_KEYS),
        bindings: (bindings) => loggableFields(bindings, SERIALIZED_KEYS),
      },
      serializers: {
        req: (req: { id?: unknown; method?: unknown; url?: unknown; ip?: unknown }) =>
          loggable({ id: req?.id, method: req?.method, url: typeof req?.url === 'string' ? req.url : undefined, ip: req?.ip }),
        res: (res: { statusCode?: unknown }) => ({ statusCode: loggable(res?.statusCode) }),
        err: loggable,
      },
      hooks: {
        logMethod(args, method) {
          try {
            method.apply(this, loggableMessage(args));
          } catch {
            // A log line is never worth a failed request or a dead process.
          }
        },
      },
    },
    opts.destination ?? stdioLogDestination(1),
  );
  // pino applies the bindings formatter to the root's bindings only, not to a child's
  // (`log.child({ … })`, Fastify's per-request logger); children inherit this `child`.
  const child = logger.child;
  logger.child = function loggableChild(this: Logger, bindings, options) {
    return child.call(this, loggableFields(bindings, SERIALIZED_KEYS), options);
  } as typeof logger.child;
  return logger;
}

/**
 * The line's `msg` and format arguments (`log.info('calling %s', url)`) are text like any other.
 * pino uses an error's message as `msg` when none is given (and Fastify passes it explicitly),
 * so that message is made loggable here too; a Postgres message can quote a row value, so its
 * value-free form is used instead.
 */
function loggableMessage(args: Parameters<LogFn>): Parameters<LogFn> {
  const [first, msg] = args as unknown[];
  const err = first instanceof Error ? first : (first as { err?: unknown } | null)?.err;
  const texts = args.map((a) => (typeof a === 'string' ? loggableText(a) : a));
  if (err instanceof Error && (msg === undefined || msg === err.message)) {
    texts[1] = loggableText(isPostgresError(err) ? postgresMessageForLog(err) : String(err.message));
  }
  return texts as Parameters<LogFn>;
}

/**
 * The server's log output on stdout (1) or stderr (2). Writes are synchronous, so nothing is in
 * flight at exit, but never block: a reader that stalls makes the write fail with EAGAIN (the
 * line stays buffered, up to 4 MiB, and goes out with the next one) and a reader that went away
 * (EPIPE) silences the log. Neither stops a request or a shutdown.
 */
export function stdioLogDestination(fd: 1 | 2): DestinationStream {
  let out = stdioDestinations.get(fd);
  if (out) return out;
  // Opening Node's stream puts a pipe into non-blocking mode (a blocking write(2) to a full pipe
  // would freeze the process), and its listener keeps a vanished reader from being an uncaught error.
  (fd === 1 ? process.stdout : process.stderr).on('error', () => undefined);
  out = pino.destination({ dest: fd, sync: true, minLength: 0, maxLength: 4 * 1024 * 1024, retryEAGAIN: () => false });
  out.on('error', () => undefined);
  stdioDestinations.set(fd, out);
  return out;
}
const stdioDestinations = new Map<1 | 2, ReturnType<typeof pino.destination>>();
