import cookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Services } from './deps.js';
import { apiKeysRoutes } from './domains/api-keys/api-keys.routes.js';
import { connectionsRoutes } from './domains/connections/connections.routes.js';
import { proxyRoutes } from './domains/proxy/proxy.routes.js';
import { oauthRoutes } from './domains/oauth/oauth.routes.js';
import { catalogRoutes } from './domains/catalog/catalog.routes.js';
import { auditRoutes } from './domains/audit/audit.routes.js';
import { eventsRoutes } from './domains/events/events.routes.js';
import { authRoutes } from './domains/identity/auth.routes.js';
import { assertRouteGuarded, createAuthHooks } from './domains/identity/identity.http.js';
import { adminRoutes } from './domains/platform-admins/admin.routes.js';
import { usersRoutes } from './domains/identity/users.routes.js';
import type { Logger } from './platform/logger.js';
import { installErrorHandling } from './platform/http/error-handler.js';
import { type HealthDeps, healthRoutes } from './platform/http/health.routes.js';
import { installOpenApi } from './platform/http/openapi.js';
import { lazyChildLogger } from './platform/http/lazy-logger.js';
import { requestIdFor } from './platform/http/request-id.js';
import { refuseUnstorableText } from './platform/http/text-guard.js';

export type AppDeps = HealthDeps & {
  logger: Logger;
  trustProxy: boolean;
  services: Services;
};

/**
 * The HTTP application, fully wired but not listening. No I/O happens here or at import, so tests
 * build as many apps as they like and drive them with `inject()`.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    genReqId: requestIdFor,
    childLoggerFactory: lazyChildLogger,
    trustProxy: deps.trustProxy,
    bodyLimit: 1_048_576,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandling(app);

  app.addHook('onSend', async (req, reply) => {
    reply.header('x-request-id', req.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    // API responses may carry credentials metadata; nothing under /api is cacheable.
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  app.addHook('onRoute', (route) => assertRouteGuarded(route));
  await app.register(cookie);
  await installOpenApi(app, deps.version);
  healthRoutes(app, deps);
  const { services } = deps;
  const hooks = createAuthHooks(services);
  // After authentication (a route's preValidation) and schema validation, before any handler:
  // the text rule for every input, then the step-up the operation table asks for.
  app.addHook('preHandler', async (req) => refuseUnstorableText(req));
  app.addHook('preHandler', hooks.stepUp);
  authRoutes(app, { auth: services.auth, mfa: services.mfa, hooks });
  usersRoutes(app, { users: services.users, hooks });
  apiKeysRoutes(app, { apiKeys: services.apiKeys, hooks });
  auditRoutes(app, { audit: services.audit, hooks });
  eventsRoutes(app, { events: services.events, hooks });
  catalogRoutes(app, { catalog: services.catalog, hooks });
  connectionsRoutes(app, { connections: services.connections, hooks });
  oauthRoutes(app, { authorize: services.authorize, disconnect: services.disconnect, hooks });
  proxyRoutes(app, { proxy: services.proxy, hooks, metrics: services.metrics });
  adminRoutes(app, { adminAuth: services.adminAuth, tenants: services.tenants, apiKeys: services.apiKeys });
  return app;
}
