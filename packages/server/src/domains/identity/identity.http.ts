import type { FastifyRequest, preHandlerAsyncHookHandler, preValidationAsyncHookHandler } from 'fastify';
import type { RequestMeta } from '../../platform/context.js';
import { AppError } from '../../platform/errors.js';
import { API_KEY_PREFIX, type ApiKeysService } from '../api-keys/api-keys.service.js';
import type { AuthService } from './auth.service.js';
import type { MfaService } from './mfa.service.js';
import { accessOf, allows, refusal } from './access.js';
import type { TenantPrincipal } from './principal.js';

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
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return req.principal;
}

/** The bearer credential of a request, or a 401 saying how to send one. */
export function bearerToken(req: FastifyRequest, what = 'an access token or API key'): string {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) throw new AppError('UNAUTHENTICATED', `Send ${what}: Authorization: Bearer <token>`);
  return match[1]!;
}

export type AuthHooks = ReturnType<typeof createAuthHooks>;

/** The access rule of the route serving `req` (see access.ts); undefined when it has none. */
export const routeAccess = (req: FastifyRequest) => accessOf(req.method, req.routeOptions.url ?? '');

/**
 * The tenant auth edge. `authenticate` sets `req.principal` from the bearer token (the only source
 * of the tenant), then enforces the route's entry in OPERATION_ACCESS: role, the API key's scope
 * (tenant and platform keys alike), people-only and keys-only operations; `stepUp` then asks for
 * MFA after validation.
 * A route without an entry is refused to everyone.
 */
export function createAuthHooks(deps: {
  auth: Pick<AuthService, 'authenticate'>;
  mfa: Pick<MfaService, 'verifyStepUp'>;
  apiKeys: Pick<ApiKeysService, 'authenticate'>;
}) {
  const authenticate: preValidationAsyncHookHandler = async (req: FastifyRequest) => {
    const token = bearerToken(req);
    if (token.startsWith(API_KEY_PREFIX)) {
      const tenant = req.headers['x-keyhold-tenant'];
      req.principal = await deps.apiKeys.authenticate(token, { ...requestMeta(req), method: req.method, url: req.url }, typeof tenant === 'string' ? tenant : undefined);
    } else {
      req.principal = await deps.auth.authenticate(token, requestMeta(req));
    }
    await authorize(req, req.principal);
  };

  async function authorize(req: FastifyRequest, p: TenantPrincipal) {
    const access = routeAccess(req);
    if (access?.kind !== 'tenant') throw new AppError('FORBIDDEN', 'This operation is not open to organization principals');
    if (!allows(access, p)) throw new AppError('FORBIDDEN', refusal(access, p));
  }

  /**
   * Step-up for the operations that need it, once the input is valid: a one-time code (TOTP step
   * or recovery code) is never spent on a request that fails validation.
   */
  const stepUp: preHandlerAsyncHookHandler = async (req: FastifyRequest) => {
    const access = routeAccess(req);
    if (!req.principal || access?.kind !== 'tenant' || !access.stepUp) return;
    const code = req.headers['x-mfa-code'];
    await deps.mfa.verifyStepUp(req.principal, typeof code === 'string' ? code : undefined);
  };

  return { authenticate, stepUp };
}

/**
 * Checked as each route is registered (Fastify `onRoute`): a documented route without an entry in
 * OPERATION_ACCESS, or a non-public one without an authentication hook, stops the server at start
 * instead of serving an unguarded operation. Hidden routes (API docs, metrics) are outside the API.
 */
export function assertRouteGuarded(route: { method: string | string[]; url: string; schema?: { hide?: boolean }; preValidation?: unknown }) {
  if (route.schema?.hide || route.url.startsWith('/docs')) return;
  for (const method of [route.method].flat()) {
    const access = accessOf(method, route.url);
    if (!access) throw new Error(`${method} ${route.url} has no entry in OPERATION_ACCESS`);
    const hooks = [route.preValidation].flat().filter(Boolean);
    if (access.kind !== 'public' && hooks.length === 0) throw new Error(`${method} ${route.url} is a ${access.kind} operation without an authentication hook`);
  }
}
