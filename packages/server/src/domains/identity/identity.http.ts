import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type { RequestMeta } from '../../platform/context.js';
import type { UserRole } from '../../platform/db/schema.js';
import { AppError } from '../../platform/errors.js';
import { API_KEY_PREFIX, type ApiKeysService } from '../api-keys/api-keys.service.js';
import type { AuthService } from './auth.service.js';
import type { MfaService } from './mfa.service.js';
import { type ApiKeyScope, type TenantPrincipal, assertRole, assertScope } from './principal.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal?: TenantPrincipal;
  }
}

export const REFRESH_COOKIE = 'keyhold_refresh';

export function requestMeta(req: FastifyRequest): RequestMeta {
  const ua = req.headers['user-agent'];
  return { requestId: req.id, ip: req.ip, ...(typeof ua === 'string' ? { userAgent: ua } : {}) };
}

/** The authenticated principal of a request that passed `authenticate`. */
export function principalOf(req: FastifyRequest): TenantPrincipal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 401, 'Sign in first');
  return req.principal;
}

/** The bearer credential of a request, or a 401 saying how to send one. */
export function bearerToken(req: FastifyRequest, what = 'an access token or API key'): string {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) throw new AppError('UNAUTHENTICATED', 401, `Send ${what}: Authorization: Bearer <token>`);
  return match[1]!;
}

export type AuthHooks = ReturnType<typeof createAuthHooks>;

/**
 * preHandlers for routes: `authenticate` sets `req.principal` from the bearer token (the only
 * source of the tenant); `requireRole`, `requireScope` and `requireMfa` then gate the route.
 */
export function createAuthHooks(deps: {
  auth: Pick<AuthService, 'authenticate'>;
  mfa: Pick<MfaService, 'verifyStepUp'>;
  apiKeys: Pick<ApiKeysService, 'authenticate'>;
}) {
  const authenticate: preHandlerAsyncHookHandler = async (req: FastifyRequest) => {
    const token = bearerToken(req);
    if (token.startsWith(API_KEY_PREFIX)) {
      const tenant = req.headers['x-keyhold-tenant'];
      req.principal = await deps.apiKeys.authenticate(token, { ...requestMeta(req), method: req.method, url: req.url }, typeof tenant === 'string' ? tenant : undefined);
    } else {
      req.principal = await deps.auth.authenticate(token, requestMeta(req));
    }
  };

  const requireRole = (min: UserRole): preHandlerAsyncHookHandler => async (req: FastifyRequest) => assertRole(principalOf(req), min);
  const requireScope = (scope: ApiKeyScope): preHandlerAsyncHookHandler => async (req: FastifyRequest) => assertScope(principalOf(req), scope);

  /** Step-up: the request must carry a fresh TOTP or a recovery code in `X-MFA-Code`. */
  const requireMfa = (): preHandlerAsyncHookHandler => async (req: FastifyRequest, _reply: FastifyReply) => {
    const code = req.headers['x-mfa-code'];
    await deps.mfa.verifyStepUp(principalOf(req), typeof code === 'string' ? code : undefined);
  };

  return { authenticate, requireRole, requireScope, requireMfa };
}
