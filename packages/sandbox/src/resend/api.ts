import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Reply } from '../providers.js';
import { parseJson } from '../json-body.js';

/**
 * Resend's API as its documentation describes it: API keys carry a permission, `full_access`
 * (everything) or `sending_access` (only sending email), seeded as `permission` (default full).
 * https://resend.com/changelog/new-api-key-permissions,
 * https://resend.com/docs/api-reference/api-keys/create-api-key
 *
 * Error replies are `{ statusCode, name, message }` as listed on
 * https://resend.com/docs/api-reference/errors (checked 2026-11-27):
 * - no Authorization header: 401 `missing_api_key`;
 * - a key that does not exist: 401 `validation_error` "API key is invalid" on the sending
 *   endpoints, 400 `validation_error` on every other endpoint;
 * - a sending-only key anywhere but sending: 401 `restricted_api_key`.
 */
export type ResendPermission = 'full_access' | 'sending_access';

const error = (statusCode: number, name: string, message: string): Reply => ({ status: statusCode, body: { statusCode, name, message } });
const bearer = (req: IncomingMessage) => /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];

/** Who may call an endpoint: anyone with a key (sending) or full-access keys only. */
function authorize(req: IncomingMessage, keys: Array<Record<string, string>>, endpoint: 'sending' | 'other'): Reply | null {
  if (!req.headers.authorization) return error(401, 'missing_api_key', 'Missing API key in the authorization header.');
  const key = keys.find((k) => k.apiKey !== undefined && k.apiKey === bearer(req));
  if (!key) return endpoint === 'sending' ? error(401, 'validation_error', 'API key is invalid') : error(400, 'validation_error', 'API key is invalid');
  const permission: ResendPermission = key.permission === 'sending_access' ? 'sending_access' : 'full_access';
  if (endpoint === 'other' && permission !== 'full_access') return error(401, 'restricted_api_key', 'This API key is restricted to only send emails.');
  return null;
}


// One verified sending domain per sandbox, shaped as https://resend.com/docs/api-reference/domains/list-domains
const DOMAINS = [{ id: 'd91cd9bd-1176-453e-8fc1-35364d380206', name: 'acme.example', status: 'verified', created_at: '2026-01-05 10:00:00.000000+00', region: 'us-east-1', capabilities: { sending: 'enabled', receiving: 'disabled' } }];

/** Resend's reply to one request, or null when the path is not one the sandbox plays. */
export function resendApi(req: IncomingMessage, path: string, body: string, keys: Array<Record<string, string>>): Reply | null {
  if (req.method === 'POST' && path === '/emails') {
    const denied = authorize(req, keys, 'sending');
    if (denied) return denied;
    const b = parseJson(body);
    const missing = ['from', 'to', 'subject'].find((k) => !b?.[k]);
    if (missing || (!b?.html && !b?.text && !b?.react)) return error(422, 'missing_required_field', `Missing \`${missing ?? 'html or text'}\` field.`);
    return { status: 200, body: { id: randomUUID() } };
  }
  if (req.method === 'GET' && path === '/domains') {
    const denied = authorize(req, keys, 'other');
    if (denied) return denied;
    return { status: 200, body: { object: 'list', has_more: false, data: DOMAINS } };
  }
  return null;
}
