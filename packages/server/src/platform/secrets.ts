import { boundedMap } from './bounded-map.js';

/**
 * Whether a field name marks a secret, wherever it appears: log objects, audit metadata, error
 * details, query parameters. Matching is on the name, so a secret is caught even when nobody
 * remembered to wrap it; the rule errs towards redacting, because a hidden harmless value costs
 * a little debugging while a logged credential cannot be taken back.
 */
export function isSecretFieldName(name: string): boolean {
  let secret = decided.get(name);
  if (secret === undefined) {
    secret = decideSecretFieldName(name);
    // Long names are not remembered, so the cache stays small in bytes as well as in entries.
    if (name.length <= 64) decided.set(name, secret);
  }
  return secret;
}

/** Every log line asks about the same few dozen names; the answer is computed once per name. */
const decided = boundedMap<string, boolean>(2000);

function decideSecretFieldName(name: string): boolean {
  if (ALWAYS_SECRET.test(name)) return true;
  const words = nameWords(name);
  // `tokenType`, `secretId`, `passwordChangedAt`: these describe a secret without containing it.
  if (words.length > 1 && DESCRIPTIVE_LAST_WORDS.has(words[words.length - 1]!)) return false;
  if (SECRET_LETTERS.test(name)) return true;
  return words.some((w, i) => SECRET_WORDS.has(w) && !(CODE_WORDS.has(w) && i > 0 && CATEGORY_CODE_QUALIFIERS.has(words[i - 1]!)));
}

/** Names that hold a secret even though their last word sounds descriptive (`databaseUrl`). */
const ALWAYS_SECRET = /database[-_]?url|connection[-_]?string|dsn$/i;

/** Secret wherever these letters appear, whatever the casing or separators (`accesstoken` too). */
const SECRET_LETTERS =
  /pass(word|wd|phrase)|secret|token|credential|api[-_]?key|authori[sz]ation|cookie|(private|master|signing|encryption|hmac|session|access)[-_]?keys?|(auth|mfa|otp|recovery|verification|oauth|backup)[-_]?codes?|jwt/i;

/** Secret as whole words only: the letters also occur inside harmless words (`encoded`, `spin`). */
const SECRET_WORDS = new Set(['code', 'codes', 'verifier', 'otp', 'totp', 'hotp', 'pin', 'dek', 'kek', 'auth', 'bearer']);
const CODE_WORDS = new Set(['code', 'codes']);

/** `statusCode`, `errorCode`, `countryCode`: a code that names a category, not a one-time grant. */
const CATEGORY_CODE_QUALIFIERS = new Set([
  'status', 'error', 'err', 'exit', 'http', 'response', 'reason', 'result', 'return', 'signal',
  'country', 'currency', 'language', 'locale', 'region', 'postal', 'zip', 'sql',
]);

/** Last words that make a name a fact about a secret: its kind, its id, its endpoint, its times. */
const DESCRIPTIVE_LAST_WORDS = new Set(['type', 'types', 'kind', 'id', 'ids', 'url', 'uri', 'endpoint', 'at', 'expires', 'expiry', 'ttl', 'count', 'version']);

/** `x-mfa-code`, `XMfaCode` and `x_mfa_code` all become `x mfa code`. */
function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

export const REDACTED = '[REDACTED]';

/**
 * A deep copy of `value` with every secret-named field replaced by `[REDACTED]`. Used for data
 * that is persisted or returned (audit metadata), where a leak cannot be taken back.
 */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
  if (typeof value === 'string') return redactUrlSecrets(value);
  if (Array.isArray(value)) return value.map((v) => scrubSecrets(v, depth + 1));
  if (value && typeof value === 'object') {
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretFieldName(k) ? REDACTED : scrubSecrets(v, depth + 1);
    }
    return out;
  }
  return value;
}

/** Query parameters that carry credentials or one-time grants under names not secret elsewhere. */
const SECRET_QUERY_PARAMS = /^(code|state|key|sig|hmac|pwd|pass|sid|session)$|signature/i;

const isSecretQueryParam = (name: string) => SECRET_QUERY_PARAMS.test(name) || isSecretFieldName(name);

/**
 * `name=value` in a URL's query or fragment, a form body, a cookie or free text. The value ends at
 * `&`, `#`, `;` or a space; a name is whatever the URL grammar allows, after any other character.
 */
const PARAMETER = /(^|[^\w.%+\-[\]])([\w.%+\-[\]]+)=([^\s&#;]*)/g;
/** The password of a URL's userinfo (`postgres://user:password@host`), up to the host's `@`. */
const USERINFO_PASSWORD = /\b([a-z][a-z0-9+.-]{0,31}:\/\/[^\s/?#@:]*):([^\s/?#]*)@/gi;
const ENCODED_REDACTED = encodeURIComponent('[REDACTED]');

/**
 * `text` with the value of every credential-bearing parameter (`?code=`, `#access_token=`,
 * `client_secret=` in a form body) and every URL password replaced, wherever in the text they
 * are: a request URL, a redirect location, an error message. Everything else is left as it was.
 */
/** A per-connection webhook URL's opaque token (the last segment of `/api/webhooks/<provider>/<token>`). */
const WEBHOOK_TOKEN_PATH = /(\/api\/webhooks\/(?!inbound\/)[A-Za-z0-9-]+\/)[A-Za-z0-9_-]{16,}/g;

/** A hosted Connect page's session token (`/connect/<token>`): it opens the page. */
const CONNECT_TOKEN_PATH = /(\/connect\/)khc_[A-Za-z0-9_-]{16,}/g;

export function redactUrlSecrets(text: string): string {
  if (text.includes('/connect/khc_')) text = text.replace(CONNECT_TOKEN_PATH, `$1${ENCODED_REDACTED}`);
  // The token only routes (forging still needs the signing secret), but where a provider signs
  // with one key for all its users it is what ties a delivery to a tenant: kept out of logs.
  if (text.includes('/api/webhooks/')) text = text.replace(WEBHOOK_TOKEN_PATH, `$1${ENCODED_REDACTED}`);
  if (!text.includes('=') && !text.includes('@')) return text;
  return text
    .replace(PARAMETER, (whole, before: string, name: string) => (isSecretQueryParam(decodeName(name)) ? `${before}${name}=${ENCODED_REDACTED}` : whole))
    .replace(USERINFO_PASSWORD, (whole, start: string, password: string) => (password ? `${start}:${REDACTED}@` : whole));
}

function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replaceAll('+', ' '));
  } catch {
    return name;
  }
}
