import cookie from '@fastify/cookie';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { Services } from './deps.js';
import { apiKeysRoutes } from './domains/api-keys/api-keys.routes.js';
import { connectionsRoutes } from './domains/connections/connections.routes.js';
import { proxyRoutes } from './domains/proxy/proxy.routes.js';
import { oauthRoutes } from './domains/oauth/oauth.routes.js';
import { connectSessionsRoutes } from './domains/connect-sessions/connect-sessions.routes.js';
import { catalogRoutes } from './domains/catalog/catalog.routes.js';
import { auditRoutes } from './domains/audit/audit.routes.js';
import { eventsRoutes } from './domains/events/events.routes.js';
import { webhookEndpointsRoutes } from './domains/webhook-endpoints/webhook-endpoints.routes.js';
import { inboundWebhookReceiverRoutes, inboundWebhookRoutes, quarantineRoutes } from './domains/inbound-webhooks/inbound-webhooks.routes.js';
import { authRoutes } from './domains/identity/auth.routes.js';
import { accessOf, allows, platformRefusal, refusal } from './domains/identity/access.js';
import { API_KEY_PREFIX } from './domains/api-keys/api-keys.service.js';
import { adminRoutes } from './domains/platform-admins/admin.routes.js';
import { platformHealthRoutes } from './domains/platform-admins/platform-health.routes.js';
import { usersRoutes } from './domains/identity/users.routes.js';
import { onboardingRoutes } from './domains/identity/onboarding.js';
import { passwordResetRoutes } from './domains/identity/password-reset.routes.js';
import { notificationsRoutes } from './domains/notifications/notifications.routes.js';
import { syncsRoutes } from './domains/syncs/syncs.routes.js';
import { exchangeRatesRoutes } from './modules/exchange-rates/exchange-rates.routes.js';
import { workingCapitalRoutes } from './modules/working-capital/working-capital.routes.js';
import { commerceRoutes } from './modules/commerce/commerce.routes.js';
import { adminUiRoutes } from './admin-ui/admin-ui.js';
import type { MetricsAccess } from './platform/config.js';
import type { Logger } from './platform/logger.js';
import { installErrorHandling } from './platform/http/error-handler.js';
import { type HealthDeps, healthRoutes } from './platform/http/health.routes.js';
import { installOpenApi } from './platform/http/openapi.js';
import { lazyChildLogger } from './platform/http/lazy-logger.js';
import { metricsPlugin } from './platform/http/metrics-plugin.js';
import { requestIdFor } from './platform/http/request-id.js';
import { type AuthPluginOptions, authPlugin } from './platform/http/auth-plugin.js';

export type AppDeps = HealthDeps & {
  logger: Logger;
  trustProxy: boolean;
  services: Services;
  /** Who may scrape `/metrics` (KEYHOLD_METRICS). */
  metricsAccess: MetricsAccess;
  /** The built console (packages/web/dist by default); tests point it elsewhere. */
  adminUiRoot?: string;
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
    // While draining, clients (and load balancers) open their next request on another node.
    if (deps.draining?.()) reply.header('connection', 'close');
    // API responses may carry credentials metadata; nothing under /api is cacheable.
    if (req.url.startsWith('/api/')) reply.header('cache-control', 'no-store');
  });

  const { services } = deps;
  // First, so that every route registered after it is checked against the table and guarded.
  await app.register(authPlugin, authEdge(services));
  await app.register(cookie);
  await installOpenApi(app, deps.version);
  healthRoutes(app, deps);
  await app.register(metricsPlugin, { registry: services.metrics.registry, access: deps.metricsAccess });
  authRoutes(app, { auth: services.auth, mfa: services.mfa });
  usersRoutes(app, { users: services.users });
  onboardingRoutes(app, { onboarding: services.onboarding });
  passwordResetRoutes(app, { passwordReset: services.passwordReset });
  notificationsRoutes(app, { notifications: services.notifications });
  apiKeysRoutes(app, { apiKeys: services.apiKeys });
  auditRoutes(app, { audit: services.audit });
  eventsRoutes(app, { events: services.events });
  catalogRoutes(app, { catalog: services.catalog });
  connectionsRoutes(app, { connections: services.connections });
  oauthRoutes(app, { authorize: services.authorize, disconnect: services.disconnect });
  connectSessionsRoutes(app, { connectSessions: services.connectSessions });
  proxyRoutes(app, { proxy: services.proxy });
  inboundWebhookRoutes(app, { inbound: services.inboundWebhooks });
  await inboundWebhookReceiverRoutes(app, { inbound: services.inboundWebhooks });
  quarantineRoutes(app, { inbound: services.inboundWebhooks });
  webhookEndpointsRoutes(app, { endpoints: services.webhookEndpoints });
  syncsRoutes(app, { syncs: services.syncs });
  exchangeRatesRoutes(app, { exchangeRates: services.exchangeRates });
  workingCapitalRoutes(app, { workingCapital: services.workingCapital });
  commerceRoutes(app, { commerce: services.commerce });
  await adminUiRoutes(app, { ...(deps.adminUiRoot ? { root: deps.adminUiRoot } : {}), connectFrameAncestors: services.connectSessions.frameAncestors });
  adminRoutes(app, { adminAuth: services.adminAuth, tenants: services.tenants, apiKeys: services.apiKeys, signupInvitations: services.signupInvitations });
  platformHealthRoutes(app, { platformHealth: services.platformHealth, tenants: services.tenants });
  return app;
}

/** The auth edge's view of the domains: the operation table and who a bearer credential is. */
function authEdge(services: Services): AuthPluginOptions {
  return {
    accessOf,
    tenantPrincipal: (token, call) =>
      token.startsWith(API_KEY_PREFIX)
        ? services.apiKeys.authenticate(token, { ...call.meta, method: call.method, url: call.url }, call.tenantHeader)
        : services.idpAuth?.claimsIssuer(token)
          ? services.idpAuth.authenticate(token, call.meta)
          : services.auth.authenticate(token, call.meta),
    platformAdmin: (token, meta) => services.adminAuth.authenticate(token, meta),
    tenantRefusal: (access, p) => (allows(access, p) ? null : refusal(access, p)),
    platformRefusal: (access, admin) => platformRefusal(access, admin.role),
    verifyStepUp: (p, code) => services.mfa.verifyStepUp(p, code),
  };
}
