/**
 * Names that mark a field as secret wherever it appears: log objects, audit metadata, error
 * details. Matching is on the field name, so a secret is caught even when nobody remembered to
 * wrap it.
 */
export const SECRET_FIELD_NAMES = [
  'password',
  'newPassword',
  'currentPassword',
  'passwd',
  'secret',
  'clientSecret',
  'client_secret',
  'apiKey',
  'api_key',
  'apiSecret',
  'api_secret',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'idToken',
  'id_token',
  'mfaToken',
  'authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'privateKey',
  'private_key',
  'masterKey',
  'dek',
  'otp',
  'totp',
  'recoveryCode',
  'recoveryCodes',
  'databaseUrl',
  'connectionString',
] as const;

const SECRET_NAME_PATTERN =
  /pass(word|wd)|secret|token|api[-_]?key|authori[sz]ation|cookie|private[-_]?key|master[-_]?key|^dek$|^t?otp$|recovery[-_]?codes?|credential|connection[-_]?string|database[-_]?url/i;

export function isSecretFieldName(name: string): boolean {
  return SECRET_NAME_PATTERN.test(name);
}

export const REDACTED = '[REDACTED]';

/**
 * A deep copy of `value` with every secret-named field replaced by `[REDACTED]`. Used for data
 * that is persisted or returned (audit metadata), where a leak cannot be taken back.
 */
export function scrubSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8) return REDACTED;
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

/** Query parameters that carry credentials or one-time grants and never belong in a log line. */
const SECRET_QUERY_PARAMS = /^(code|spapi_oauth_code|state|token|access_token|refresh_token|id_token|hmac|signature|key|api_key|apikey|password|secret|client_secret|hub\.verify_token)$/i;

/** The URL with the values of credential-bearing query parameters replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q === -1) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  for (const key of [...params.keys()]) {
    if (SECRET_QUERY_PARAMS.test(key) || isSecretFieldName(key)) params.set(key, REDACTED);
  }
  return `${url.slice(0, q)}?${params.toString()}`;
}
