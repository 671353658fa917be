import { z } from 'zod';

/**
 * Every error Keyhold returns carries one of these stable codes. Clients branch on the code,
 * never on the human message. Adding a code is fine; renaming or removing one is a breaking change.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  UNKNOWN_PROVIDER: 400,
  OAUTH_NOT_SUPPORTED: 400,
  OAUTH_STATE_INVALID: 400,
  OAUTH_CALLBACK_INVALID: 400,
  OAUTH_ACCESS_DENIED: 400,
  UNAUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  CONNECT_SESSION_INVALID: 401,
  WEBHOOK_SIGNATURE_INVALID: 401,
  FORBIDDEN: 403,
  MFA_REQUIRED: 403,
  MFA_ENROLLMENT_REQUIRED: 403,
  TENANT_SUSPENDED: 403,
  SIGNUP_CLOSED: 403,
  // Signed in with a temporary password: only changing it (and signing out) is open until then.
  PASSWORD_CHANGE_REQUIRED: 403,
  // A valid identity-provider token Keyhold cannot place: its organisation is no tenant, its role
  // claim maps to no role, or a claim the mapping needs is absent.
  IDP_TENANT_UNKNOWN: 403,
  IDP_ROLE_UNMAPPED: 403,
  IDP_CLAIM_MISSING: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  QUOTA_EXCEEDED: 409,
  ACCOUNT_ALREADY_CONNECTED: 409,
  INTEGRATION_NEEDS_REAUTH: 409,
  INTEGRATION_DISABLED: 409,
  SYNC_ALREADY_RUNNING: 409,
  ACTION_IN_PROGRESS: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  IDP_USER_CONFLICT: 409,
  RECONNECT_NOT_NEEDED: 409,
  CONNECT_SESSION_USED: 410,
  CONNECT_SESSION_EXPIRED: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  DECRYPTION_FAILED: 422,
  CONNECTION_TEST_FAILED: 422,
  RATES_NOT_AVAILABLE: 422,
  RATE_LIMITED: 429,
  INTERNAL_ERROR: 500,
  OAUTH_EXCHANGE_FAILED: 502,
  INTEGRATION_UNAVAILABLE: 503,
  NOT_READY: 503,
  IDP_UNAVAILABLE: 503,
  OAUTH_NOT_CONFIGURED: 503,
  INTEGRATION_TOKEN_EXPIRED: 503,
  INTEGRATION_NOT_CONFIGURED: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export const ErrorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

/** The HTTP status a code normally maps to; `AppError` may override it where a route documents why. */
export function defaultStatusFor(code: ErrorCode): number {
  return ERROR_CODES[code];
}

export const ErrorActionSchema = z.object({
  label: z.string(),
  url: z.string(),
});
export type ErrorAction = z.infer<typeof ErrorActionSchema>;

/** The body of every failed response. */
export const ErrorEnvelopeSchema = z.object({
  success: z.literal(false),
  error: z.string().describe('Human-readable message; safe to show to a user'),
  code: ErrorCodeSchema,
  actions: z.array(ErrorActionSchema).optional(),
  requestId: z.string(),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;
