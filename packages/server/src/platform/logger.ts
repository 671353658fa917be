import pino, { type DestinationStream, type Logger } from 'pino';
import { REDACTED, SECRET_FIELD_NAMES, redactUrl } from './secrets.js';

export type { Logger };

/** pino redaction paths for every secret-looking field name, up to four levels deep. */
function redactPaths(): string[] {
  const paths: string[] = [];
  for (const name of SECRET_FIELD_NAMES) {
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? name : `["${name}"]`;
    const join = (prefix: string) => (key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`);
    paths.push(key.startsWith('[') ? `*${key}` : key);
    paths.push(join('*'), join('*.*'), join('*.*.*'));
  }
  return paths;
}

export type LoggerOptions = { level: string; destination?: DestinationStream };

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      redact: { paths: redactPaths(), censor: REDACTED },
      serializers: {
        req: (req: { id?: string; method?: string; url?: string; ip?: string }) => ({
          id: req.id,
          method: req.method,
          url: req.url ? redactUrl(req.url) : undefined,
          ip: req.ip,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    opts.destination,
  );
}
