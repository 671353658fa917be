import type { IncomingMessage } from 'node:http';
import type { VerifyRoute } from '../providers.js';

/*
 * Kustomer API keys are bearer tokens of a machine user with a fixed set of roles; each operation
 * needs one of its roles, and a key without it gets 403
 * (https://developer.kustomer.com/docs/get-started/api-keys-and-roles,
 * https://developer.kustomer.com/docs/get-started/making-requests).
 * `GET /v1/auth/tokens/current` describes the token and "works with any valid key, whatever its
 * roles" (https://developer.kustomer.com/docs/get-started/quickstart), so it is the check a
 * least-privilege key passes. `GET /v1/users/current` needs a user-read role; which role exactly
 * is not documented, so the sandbox accepts the two names integrators list for it.
 * A seeded key may carry `roles` (comma-separated); a key seeded without it holds every role.
 */

const USER_READ_ROLES = ['org.user.read', 'org.permission.user.read'];

const bearer = (req: IncomingMessage) => /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
const rolesOf = (key: Record<string, string>) => (key.roles === undefined ? null : key.roles.split(',').map((r) => r.trim()).filter(Boolean));

export const kustomerAuth: VerifyRoute = {
  method: 'GET',
  path: /^\/v1\/(auth\/tokens|users)\/current$/,
  check: (req, _url, keys, resource) => {
    const key = keys.find((k) => k.apiKey === bearer(req));
    if (!key) return { status: 401, body: { errors: [{ status: 401, title: 'Unauthorized' }] } };
    const roles = rolesOf(key);
    if (resource === 'auth/tokens') {
      return { status: 200, body: { data: { type: 'token', id: 't1', attributes: { roles: roles ?? ['org.admin'], user: 'u1' } } } };
    }
    if (roles && !roles.some((r) => USER_READ_ROLES.includes(r))) {
      return { status: 403, body: { errors: [{ status: 403, code: 'forbidden', title: 'Forbidden', detail: 'Missing required role' }] } };
    }
    return { status: 200, body: { data: { type: 'user', id: 'u1' } } };
  },
};
