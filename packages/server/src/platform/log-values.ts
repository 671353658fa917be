import pg from 'pg';
import { REDACTED, isSecretFieldName, redactUrlSecrets } from './secrets.js';

/**
 * Everything handed to the logger is turned into plain JSON data here before pino sees it, so a
 * log line can neither throw (exotic objects, getters, cycles) nor carry what it must not:
 * secret-named fields at any depth (the one rule of `isSecretFieldName`), credentials in URLs
 * and query strings inside any text, raw bytes (a client's malformed request), megabytes of
 * text, or the row values Postgres puts in its error context.
 */

const MAX_DEPTH = 8;
const MAX_STRING = 8 * 1024;
const MAX_ITEMS = 100;
const UNLOGGABLE = '[unloggable]';

/** Error fields never logged: the raw bytes of a bad request, bound query values. */
const DROPPED_ERROR_FIELDS = new Set(['rawPacket', 'parameters', 'params', 'bindings']);

/** A plain, bounded, redacted copy of `value`; never throws. */
export function loggable(value: unknown): unknown {
  try {
    return walk(value, 0, []);
  } catch {
    return UNLOGGABLE;
  }
}

/** `loggable` for each field of a log object, except those pino serializes itself. */
export function loggableFields(obj: Record<string, unknown>, serializedKeys: ReadonlySet<string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  try {
    for (const key of Object.keys(obj)) {
      out[key] = isSecretFieldName(key) ? REDACTED : serializedKeys.has(key) ? obj[key] : loggable(obj[key]);
    }
  } catch {
    return { logFields: UNLOGGABLE };
  }
  return out;
}

function walk(value: unknown, depth: number, ancestors: object[]): unknown {
  switch (typeof value) {
    case 'string':
      return loggableText(value);
    case 'number':
    case 'boolean':
    case 'undefined':
      return value;
    case 'bigint':
    case 'symbol':
      return value.toString();
    case 'function':
      return undefined;
  }
  if (value === null) return null;
  const obj = value as object;
  if (ArrayBuffer.isView(obj) || obj instanceof ArrayBuffer || obj instanceof SharedArrayBuffer) {
    return `[binary ${obj.byteLength} bytes]`;
  }
  if (ancestors.includes(obj)) return '[Circular]';
  if (depth >= MAX_DEPTH) return Array.isArray(obj) ? '[Array]' : '[Object]';
  const inner = [...ancestors, obj];
  const next = (v: unknown) => walk(v, depth + 1, inner);
  if (obj instanceof Error) return errorFields(obj, next);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? 'Invalid Date' : obj.toISOString();
  if (obj instanceof URL) return loggableText(obj.href);
  if (Array.isArray(obj)) return items(obj, next);
  if (obj instanceof Map) return items([...obj.entries()].map(([k, v]) => [k, typeof k === 'string' && isSecretFieldName(k) ? REDACTED : v]), next);
  if (obj instanceof Set) return items([...obj], next);
  const toJSON = (obj as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return next(toJSON.call(obj));
  return fields(obj as Record<string, unknown>, next);
}

function truncate(s: string): string {
  return s.length <= MAX_STRING ? s : `${s.slice(0, MAX_STRING)}…[${s.length - MAX_STRING} more characters]`;
}

/**
 * Text as it may be logged: bounded, then with credentials in any URL or query string in it
 * redacted (cut first, so the scan stays cheap; a value cut in half is still replaced).
 */
export function loggableText(s: string): string {
  return redactUrlSecrets(truncate(s));
}

function items(list: readonly unknown[], next: (v: unknown) => unknown): unknown[] {
  const out = list.slice(0, MAX_ITEMS).map(next);
  if (list.length > MAX_ITEMS) out.push(`[${list.length - MAX_ITEMS} more items]`);
  return out;
}

function fields(obj: Record<string, unknown>, next: (v: unknown) => unknown, skip?: ReadonlySet<string>) {
  const out: Record<string, unknown> = {};
  const keys = Object.keys(obj);
  for (const key of keys.slice(0, MAX_ITEMS)) {
    if (skip?.has(key)) continue;
    try {
      out[key] = isSecretFieldName(key) ? REDACTED : next(obj[key]);
    } catch {
      out[key] = UNLOGGABLE; // a throwing getter
    }
  }
  if (keys.length > MAX_ITEMS) out['…'] = `[${keys.length - MAX_ITEMS} more fields]`;
  return out;
}

function errorFields(err: Error, next: (v: unknown) => unknown): Record<string, unknown> {
  if (isPostgresError(err)) return postgresErrorFields(err);
  const out: Record<string, unknown> = {
    type: err.constructor?.name || err.name || 'Error',
    message: loggableText(String(err.message)),
    stack: loggableText(String(err.stack ?? '')),
    ...fields(err as unknown as Record<string, unknown>, next, DROPPED_ERROR_FIELDS),
  };
  // An error's `code` names its kind (ECONNRESET, FST_ERR_…, NOT_FOUND); the name rule would hide it.
  const { code } = err as { code?: unknown };
  if (isErrorKindCode(code)) out.code = code;
  // `cause` set through the Error constructor is not enumerable; it is often the real story.
  if (err.cause !== undefined && !('cause' in out)) out.cause = next(err.cause);
  if (err instanceof AggregateError && !('errors' in out)) out.errors = next(err.errors);
  return out;
}

const isErrorKindCode = (code: unknown) => typeof code === 'number' || (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(code));

type PostgresError = Error & { code: string; severity: string } & Record<string, unknown>;

const SQLSTATE = /^[0-9A-Z]{5}$/;

export function isPostgresError(err: unknown): err is PostgresError {
  if (err instanceof pg.DatabaseError) return true;
  const e = err as Partial<PostgresError> | null;
  return err instanceof Error && typeof e?.severity === 'string' && typeof e.code === 'string' && SQLSTATE.test(e.code);
}

/**
 * Fields of a Postgres error that name schema objects only. `detail` ("Key (email)=(…) already
 * exists"), `where`, `internalQuery` and `hint` quote row and query values, so they are left out.
 */
const POSTGRES_LOGGED_FIELDS = ['code', 'severity', 'constraint', 'table', 'column', 'schema', 'dataType', 'routine', 'position'];

/**
 * The message of a Postgres error without the values it quotes. Data exceptions (class 22) and
 * integrity violations (class 23) quote the offending value (`invalid input syntax for type
 * uuid: "…"`); everything between the first and last double quote goes, whatever it contains.
 */
export function postgresMessageForLog(err: PostgresError): string {
  const message = String(err.message);
  if (!/^2[23]/.test(err.code)) return message;
  const first = message.indexOf('"');
  const last = message.lastIndexOf('"');
  if (first === -1) return message;
  return `${message.slice(0, first)}"${REDACTED}"${last > first ? message.slice(last + 1) : ''}`;
}

function postgresErrorFields(err: PostgresError): Record<string, unknown> {
  const message = loggableText(postgresMessageForLog(err));
  const out: Record<string, unknown> = { type: 'DatabaseError', message };
  for (const key of POSTGRES_LOGGED_FIELDS) {
    if (err[key] !== undefined) out[key] = truncate(String(err[key]));
  }
  // The stack's first line repeats the message; keep only the frames.
  const stack = String(err.stack ?? '');
  const frames = stack.indexOf('\n    at ');
  out.stack = `DatabaseError: ${message}${frames === -1 ? '' : truncate(stack.slice(frames))}`;
  return out;
}
