import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import type { Access, PlatformAccess, TenantAccess } from '../../domains/identity/access.js';
import type { TenantPrincipal } from '../../domains/identity/principal.js';
import type { AdminPrincipal } from '../../domains/platform-admins/admin-auth.service.js';
import type { RequestMeta } from '../context.js';
import { AppError } from '../errors.js';
import { bearerToken, requestMeta } from './principals.js';
import { refuseUnstorableText } from './text-guard.js';

/** A tenant credential's call: where it came from and the tenant a platform key says it acts for. */
export type BearerCall = { meta: RequestMeta; method: string; url: string; tenantHeader?: string };

/**
 * What the edge needs, as plain functions (app.ts wires them from the domains): the operation
 * table, who a bearer credential is, and why the table refuses someone. The edge itself knows no
 * service.
 */
export type AuthPluginOptions = {
  /** The route's entry in the operation table; undefined when it has none. */
  accessOf(method: string, url: string): Access | undefined;
  /** A user's access token or an API key (tenant key, or platform key naming its tenant). */
  tenantPrincipal(token: string, call: BearerCall): Promise<TenantPrincipal>;
  /** A platform admin's access token. */
  platformAdmin(token: string, meta: RequestMeta): Promise<AdminPrincipal>;
  /** Why the table refuses `p` this operation; null when it allows it. */
  tenantRefusal(access: TenantAccess, p: TenantPrincipal): string | null;
  platformRefusal(access: PlatformAccess, admin: AdminPrincipal): string | null;
  /** Checks the fresh MFA code (`X-MFA-Code`) an operation with `stepUp` needs. */
  verifyStepUp(p: TenantPrincipal, code: string | undefined): Promise<void>;
};

type RouteShape = Pick<RouteOptions, 'method' | 'url'> & { schema?: { hide?: boolean } };

/** Routes outside the API (its docs, the metrics scrape, unknown paths): not operations of the table. */
const outsideApi = (url: string | undefined, schema: { hide?: boolean } | undefined) => !url || schema?.hide === true || url.startsWith('/docs');

/**
 * Checked as each route is registered (Fastify `onRoute`): a documented route without an entry in
 * the operation table stops the server at start instead of serving an operation nobody decided
 * about. A route with an entry needs nothing else: the plugin guards it.
 */
export function assertRouteGuarded(route: RouteShape, accessOf: AuthPluginOptions['accessOf']) {
  if (outsideApi(route.url, route.schema)) return;
  for (const method of [route.method].flat()) {
    if (!accessOf(method, route.url)) throw new Error(`${method} ${route.url} has no entry in OPERATION_ACCESS`);
  }
}

/**
 * The auth edge for every principal kind, registered once for the whole app. Per request:
 * 1. preValidation — the route's table entry decides: public passes; a tenant operation takes a
 *    user's access token or an API key, a platform operation a platform admin's token (the only
 *    sources of `req.principal` / `req.admin`), then a temporary password's hold (only operations
 *    marked `beforePasswordChange`), then the table's role, scope or permission;
 * 2. schema validation;
 * 3. preHandler — the text rule for all input, then step-up MFA where the table asks for it: a
 *    one-time code is never spent on a request that fails validation, and an unauthenticated
 *    caller learns nothing about input checks.
 * Routes declare nothing about auth.
 */
export const authPlugin = fp<AuthPluginOptions>(async (app: FastifyInstance, opts) => {
  // The table's answer per method and route pattern, looked up once: routes are fixed at start, so
  // this stays as small as the route table, and no request pays for the lookup (or twice for it).
  const known = new Map<string, Access | undefined>();
  const accessOfRequest = (req: FastifyRequest) => {
    const route = req.routeOptions;
    const key = `${req.method} ${route.url}`;
    if (known.has(key)) return known.get(key) ?? (outsideApi(route.url, route.schema) ? undefined : refusedToAll());
    const access = outsideApi(route.url, route.schema) ? undefined : opts.accessOf(req.method, route.url!);
    known.set(key, access);
    return access ?? (outsideApi(route.url, route.schema) ? undefined : refusedToAll());
  };

  app.addHook('onRoute', (route) => assertRouteGuarded(route, opts.accessOf));

  app.addHook('preValidation', async (req) => {
    const access = accessOfRequest(req);
    if (!access || access.kind === 'public') return;
    if (access.kind === 'platform') {
      const admin = await opts.platformAdmin(bearerToken(req, 'a platform admin access token'), requestMeta(req));
      req.admin = admin;
      const why = opts.platformRefusal(access, admin);
      if (why) throw new AppError('FORBIDDEN', why);
      return;
    }
    const tenant = req.headers['x-keyhold-tenant'];
    const p = await opts.tenantPrincipal(bearerToken(req), { meta: requestMeta(req), method: req.method, url: req.url, ...(typeof tenant === 'string' ? { tenantHeader: tenant } : {}) });
    req.principal = p;
    if (p.passwordChangeRequired && !access.beforePasswordChange) {
      throw new AppError('PASSWORD_CHANGE_REQUIRED', 'Choose a new password first (POST /api/auth/password): you signed in with a temporary one');
    }
    const why = opts.tenantRefusal(access, p);
    if (why) throw new AppError('FORBIDDEN', why);
  });

  app.addHook('preHandler', async (req) => {
    refuseUnstorableText(req);
    const access = accessOfRequest(req);
    // API keys have no MFA: where a key may call a step-up operation at all, its scope is the grant.
    if (access?.kind !== 'tenant' || !access.stepUp || !req.principal || req.principal.scopes) return;
    const code = req.headers['x-mfa-code'];
    await opts.verifyStepUp(req.principal, typeof code === 'string' ? code : undefined);
  });
}, { name: 'keyhold-auth', fastify: '5.x' });

/** An API route the table does not know (cannot be registered; kept as a last line). */
function refusedToAll(): never {
  throw new AppError('FORBIDDEN', 'This operation is not open to anyone');
}
