import type { FastifyRequest } from 'fastify';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import type { AdminPrincipal } from '../../domains/platform-admins/admin-auth.service.js';
import type { RequestMeta } from '../context.js';
import { AppError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller of a tenant operation, set by the auth plugin before validation. */
    principal?: TenantPrincipal;
    /** The caller of a platform operation, set by the auth plugin before validation. */
    admin?: AdminPrincipal;
  }
}

/** Where a request came from, for audit entries. */
export function requestMeta(req: FastifyRequest): RequestMeta {
  const ua = req.headers['user-agent'];
  return { requestId: req.id, ip: req.ip, ...(typeof ua === 'string' ? { userAgent: ua } : {}) };
}

/** The principal of a tenant operation (the auth plugin has authenticated it). */
export function principalOf(req: FastifyRequest): TenantPrincipal {
  if (!req.principal) throw new AppError('UNAUTHENTICATED', 'Sign in first');
  return req.principal;
}

/** The platform admin calling a platform operation (the auth plugin has authenticated them). */
export function adminOf(req: FastifyRequest): AdminPrincipal {
  if (!req.admin) throw new AppError('UNAUTHENTICATED', 'Sign in as a platform admin first');
  return req.admin;
}

/** The bearer credential of a request, or a 401 saying how to send one. */
export function bearerToken(req: FastifyRequest, what = 'an access token or API key'): string {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) throw new AppError('UNAUTHENTICATED', `Send ${what}: Authorization: Bearer <token>`);
  return match[1]!;
}
