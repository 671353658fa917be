import type { EventPayload } from '@keyhold/contract';
import type { Clock } from './platform/clock.js';
import type { Db } from './platform/db/database.js';
import type { JwtKeys } from './platform/dev-keys.js';
import { createApiKeysRepo } from './domains/api-keys/api-keys.repo.js';
import { createApiKeysService } from './domains/api-keys/api-keys.service.js';
import { createAuditRepo } from './domains/audit/audit.repo.js';
import { createAuditService } from './domains/audit/audit.service.js';
import { createAttemptLimiter } from './domains/identity/attempts.js';
import { createAttemptsRepo } from './domains/identity/attempts.repo.js';
import { createAuthService } from './domains/identity/auth.service.js';
import { createIdentityRepo } from './domains/identity/identity.repo.js';
import { createMfaService } from './domains/identity/mfa.service.js';
import { createSignupInvitations } from './domains/identity/signup-invitations.js';
import { createTokenSigner } from './domains/identity/tokens.js';
import { createUsersService } from './domains/identity/users.service.js';
import { createOnboarding } from './domains/identity/onboarding.js';
import { createIdpAuth } from './domains/identity/idp.service.js';
import { createIdpRepo } from './domains/identity/idp.repo.js';
import { createIdpTokenVerifier } from './domains/identity/idp-tokens.js';
import type { IdpConfig } from './platform/idp-config.js';
import { createAdminAuthService } from './domains/platform-admins/admin-auth.service.js';
import { createPlatformAdminsRepo } from './domains/platform-admins/platform-admins.repo.js';
import { createPlatformHealthRepo } from './domains/platform-admins/platform-health.repo.js';
import { createPlatformHealthService } from './domains/platform-admins/platform-health.service.js';
import { platformSessionKind } from './domains/platform-admins/platform-sessions.js';
import { PLATFORM_SESSION_TABLES, TENANT_SESSION_TABLES, createSessionsRepo } from './domains/sessions/sessions.repo.js';
import { createSessions } from './domains/sessions/sessions.service.js';
import { tenantSessionKind } from './domains/identity/tenant-sessions.js';
import type { Catalog } from './domains/catalog/catalog.js';
import { createConnectionsRepo } from './domains/connections/connections.repo.js';
import { createConnectionsService } from './domains/connections/connections.service.js';
import { createWarmCache } from './domains/connections/warm-cache.js';
import { createConnectionStore } from './domains/connections/store.js';
import { type EventConsumer, createEventsService } from './domains/events/events.service.js';
import { createEventsRepo } from './domains/events/events.repo.js';
import { createOutbox } from './domains/events/outbox.js';
import { createDekCache } from './domains/vault/dek-cache.js';
import { createKeysService } from './domains/vault/keys.service.js';
import type { KeyRing } from './domains/vault/kek.js';
import { createVaultRepo } from './domains/vault/vault.repo.js';
import { createVault } from './domains/vault/vault.service.js';
import { createAuthorizeService } from './domains/oauth/authorize.service.js';
import { createDisconnectService } from './domains/oauth/disconnect.service.js';
import { createOAuthClient } from './domains/oauth/oauth-client.js';
import { createOAuthRepo } from './domains/oauth/oauth.repo.js';
import { createConnectSessionCompletion } from './domains/connect-sessions/completion.js';
import { createConnectSessionsRepo } from './domains/connect-sessions/connect-sessions.repo.js';
import { createConnectSessionsService } from './domains/connect-sessions/connect-sessions.service.js';
import { createTokenRefresher } from './domains/oauth/refresh.service.js';
import { type OAuthAppConfig, type SignupMode, type WebhookConfig, webhookAppSecrets } from './platform/config.js';
import { createInboundWebhooksRepo } from './domains/inbound-webhooks/inbound-webhooks.repo.js';
import { createInboundWebhooksService } from './domains/inbound-webhooks/inbound-webhooks.service.js';
import { adapterFor } from './providers/registry.js';
import type { Logger } from './platform/logger.js';
import { createBreakers } from './domains/proxy/breaker.js';
import { createRateLimiter } from './domains/proxy/limits.js';
import { createLimitsRepo } from './domains/proxy/limits.repo.js';
import { createProxyService } from './domains/proxy/proxy.service.js';
import { createTenantClients } from './domains/proxy/tenant-clients.js';
import { createProviderHttp } from './platform/http/provider-http.js';
import { createTenantUrlGuard } from './platform/http/public-dispatcher.js';
import type { Resolve } from './platform/http/ssrf.js';
import { createMetrics } from './platform/metrics.js';
import { readAsTenant, writeAsTenant } from './platform/db/one-trip.js';
import { preparingScopes } from './platform/db/tenancy.js';
import { createWebhookEndpointsRepo } from './domains/webhook-endpoints/webhook-endpoints.repo.js';
import { createWebhookEndpointsService } from './domains/webhook-endpoints/webhook-endpoints.service.js';
import { createDeliveryConsumer } from './domains/webhook-endpoints/deliveries.consumer.js';
import { createDeliverySender } from './domains/webhook-endpoints/deliveries.sender.js';
import { createTenantsRepo } from './domains/tenants/tenants.repo.js';
import { createTenantsService } from './domains/tenants/tenants.service.js';
import { assertAdaptersCoverCatalog } from './providers/check.js';
import { createPasswordReset } from './domains/identity/password-reset.js';
import { createPasswordResetRepo } from './domains/identity/password-reset.repo.js';
import { createNotificationConsumer } from './domains/notifications/notifications.consumer.js';
import { createNotificationsRepo } from './domains/notifications/notifications.repo.js';
import { createNotificationsService } from './domains/notifications/notifications.service.js';
import { createTransports } from './domains/notifications/transports.js';
import type { EmailSenderConfig } from './platform/config.js';
import { createSyncRunner } from './domains/syncs/run.js';
import { createSyncsRepo } from './domains/syncs/syncs.repo.js';
import { createSyncsService } from './domains/syncs/syncs.service.js';
import { createActionsRepo } from './domains/syncs/actions.repo.js';
import { createActionRunner } from './domains/syncs/actions.js';
import { createExchangeRatesRepo } from './modules/exchange-rates/exchange-rates.repo.js';
import { createExchangeRatesService } from './modules/exchange-rates/exchange-rates.service.js';
import { ecbRateSource } from './modules/exchange-rates/rate-sources.js';
import { createWorkingCapitalRepo } from './modules/working-capital/working-capital.repo.js';
import { createWorkingCapitalService } from './modules/working-capital/working-capital.service.js';
import { createCommerceRepo } from './modules/commerce/commerce.repo.js';
import { createCommerceService } from './modules/commerce/commerce.service.js';
import { createSchedules } from './domains/syncs/schedules.js';
import { createSchedulesRepo } from './domains/syncs/schedules.repo.js';

export type ServiceDeps = {
  db: Db;
  clock: Clock;
  keys: JwtKeys;
  ring: KeyRing;
  catalog: Catalog;
  allowPrivateProviderUrls?: boolean;
  /** The platform's OAuth app per provider (client id/secret). */
  oauthApps?: Record<string, OAuthAppConfig>;
  /** Where browsers reach Keyhold (OAuth redirect URIs). */
  publicUrl?: string;
  log?: Logger;
  /** The proxy's circuit breaker (defaults: open after 5 failures, 30 s cooldown). */
  breaker?: { threshold: number; cooldownMs: number };
  /** Tests only: a crash injected between a token endpoint's answer and the write. */
  afterProviderAnswer?: (connectionId: string) => void;
  /** Tests only: how tenant-supplied host names resolve (DNS by default). */
  resolveHost?: Resolve;
  /** What acts on drained outbox events (none yet outside tests). */
  eventConsumers?: EventConsumer[];
  /** Who may create an organization (KEYHOLD_SIGNUP; default open). */
  signup?: SignupMode;
  /** Length of a new organization's trial in days (KEYHOLD_TRIAL_DAYS; default 14, 0: none). */
  trialDays?: number;
  /** Inbound webhooks: app-level secrets, verify tokens (KEYHOLD_WEBHOOK_<ID>_*). */
  webhooks?: WebhookConfig;
  /** The platform's email sender (KEYHOLD_RESEND_API_KEY, KEYHOLD_EMAIL_FROM); none: no email is sent. */
  email?: EmailSenderConfig;
  /** Outbound webhooks: attempt timeout (KEYHOLD_DELIVERY_TIMEOUT_MS) and, in tests, the jitter source. */
  deliveries?: { timeoutMs?: number; random?: () => number };
  /** The SaaS's own identity provider whose tokens sign users in (KEYHOLD_IDP_*); none: not trusted. */
  idp?: IdpConfig;
  /** NODE_ENV=production: hosted Connect accepts only https origins and return URLs. */
  production?: boolean;
};

const NO_WEBHOOK_CONFIG: WebhookConfig = { secrets: {}, verifyTokens: {}, rawRetentionDays: 30, retentionDays: 90 };

/** Services that need nothing but the database (CLI maintenance commands use only these). */
export function createCoreServices({ db, clock, trialDays }: Pick<ServiceDeps, 'db' | 'clock' | 'trialDays'>) {
  const audit = createAuditService({ repo: createAuditRepo(db.kysely), tenancy: db, clock });
  const tenants = createTenantsService({ repo: createTenantsRepo(db.kysely), tenancy: db, audit, clock, ...(trialDays === undefined ? {} : { trialDays }) });
  return { audit, tenants };
}

/** The composition root: the only place that wires services together. */
export function createServices({ db, clock, keys, ring, catalog, allowPrivateProviderUrls = false, oauthApps = {}, publicUrl = 'http://127.0.0.1:3000', log, afterProviderAnswer, breaker, resolveHost, eventConsumers, signup = 'open', trialDays, webhooks = NO_WEBHOOK_CONFIG, email, deliveries = {}, idp, production = false }: ServiceDeps) {
  // A catalog value that picks code nobody wrote stops start, naming the file and the value.
  assertAdaptersCoverCatalog(catalog.list(), { webhooks: true });
  const { audit, tenants } = createCoreServices({ db, clock, trialDays });
  const vaultRepo = createVaultRepo(db.kysely);
  const dekCache = createDekCache();
  const vault = createVault({ repo: vaultRepo, ring, cache: dekCache, clock, tenancy: db });
  // Services get transactions whose scope's data keys were unwrapped before they opened: a
  // master key may be a remote KMS, and that call must not hold a transaction open.
  const tenancy = preparingScopes(db, vault.prepare);
  const vaultKeys = createKeysService({ repo: vaultRepo, vault, tenancy, ring, cache: dekCache, audit, clock });
  const identityRepo = createIdentityRepo(db.kysely);
  const attempts = createAttemptLimiter({ repo: createAttemptsRepo(db.kysely), clock });
  const mfa = createMfaService({ repo: identityRepo, vault, tenancy, audit, attempts, clock });
  const onboarding = createOnboarding({ repo: identityRepo, tenancy, clock });
  const tenantSigner = createTokenSigner('tenant', keys.tenantKey, clock);
  // One sessions module, one instance per kind of principal (its tables and its standing rule).
  const sessionsOf = (tables: Parameters<typeof createSessionsRepo>[1], kind: Parameters<typeof createSessions>[0]['kind']) =>
    createSessions({ repo: createSessionsRepo(db.kysely, tables), tenancy: db, audit, clock, kind });
  const userSessions = sessionsOf(TENANT_SESSION_TABLES, tenantSessionKind(identityRepo, tenantSigner));
  const signupInvitations = createSignupInvitations({ repo: identityRepo, tenancy: db, audit, clock });
  const auth = createAuthService({
    repo: identityRepo,
    tenancy,
    tenants,
    audit,
    attempts,
    mfa,
    signer: tenantSigner,
    sessions: userSessions,
    signup: { mode: signup, invitations: signupInvitations },
    clock,
  });
  const idpAuth = idp
    ? createIdpAuth({ config: idp, verifier: createIdpTokenVerifier(idp, clock), repo: createIdpRepo(db.kysely), users: identityRepo, tenancy: db, audit, clock })
    : undefined;
  const apiKeys = createApiKeysService({ repo: createApiKeysRepo(db.kysely), tenancy, tenants, audit, mfa, clock });
  const adminsRepo = createPlatformAdminsRepo(db.kysely);
  const platformSigner = createTokenSigner('platform', keys.platformKey, clock);
  const adminSessions = sessionsOf(PLATFORM_SESSION_TABLES, platformSessionKind(adminsRepo, platformSigner));
  const adminAuth = createAdminAuthService({ repo: adminsRepo, audit, attempts, signer: platformSigner, sessions: adminSessions, tenancy, vault, clock });
  const webhookEndpointsRepo = createWebhookEndpointsRepo(db.kysely, (tenantId, statement) => writeAsTenant(db.pool, tenantId, statement));
  const deliveryConsumer = createDeliveryConsumer({ repo: webhookEndpointsRepo, clock, queued: () => webhookEndpoints.requestSend() });
  const tenantUrls = createTenantUrlGuard({ allowPrivate: allowPrivateProviderUrls, ...(resolveHost ? { resolve: resolveHost } : {}) });
  // Every call to a provider goes through this one client (timeouts; tenant URLs guarded and pinned).
  const http = createProviderHttp({ tenantUrls });
  const tenantsRepo = createTenantsRepo(db.kysely);
  const people = {
    emailsOf: identityRepo.activeEmailsByRole,
    organization: async (tx: Parameters<typeof tenantsRepo.current>[0]) => (await tenantsRepo.current(tx))?.name ?? '',
  };
  const notifications = createNotificationsService({
    repo: createNotificationsRepo(db.kysely),
    tenancy,
    vault,
    audit,
    // A tenant's own sender goes through the proxy (defined below; called only after wiring).
    transports: createTransports({ http, adapterFor, tenantFetch: (...a) => tenantClients.fetch(...a), ...(email ? { platform: email } : {}) }),
    adapterFor,
    people,
    publicUrl,
    clock,
    ...(log ? { log } : {}),
  });
  const passwordReset = createPasswordReset({
    repo: createPasswordResetRepo(db.kysely), users: identityRepo, identities: createIdpRepo(db.kysely), tenants, organization: people.organization, tenancy, sessions: userSessions, audit, attempts, publicUrl, clock,
    mail: {
      enqueue: (tx, m) => notifications.enqueue(tx, { channel: 'email', template: 'password_reset', recipient: m.to, vars: m.vars, secretVars: { resetUrl: m.resetUrl } }),
      sendSoon: (tenantId, id) => notifications.deliverSoon(tenantId, [id]),
    },
    ...(log ? { log } : {}),
  });
  const users = createUsersService({
    repo: identityRepo, tenancy, audit, sessions: userSessions, clock, publicUrl,
    invitationMail: {
      enqueue: async (tx, m) => notifications.enqueue(tx, { channel: 'email', template: 'invitation', recipient: m.to, vars: { organization: await people.organization(tx), role: m.role }, secretVars: { inviteUrl: m.acceptUrl } }),
      sendSoon: (tenantId, id) => notifications.deliverSoon(tenantId, [id]),
    },
  });
  const notificationConsumer = createNotificationConsumer({ notifications, people, queued: () => notifications.requestSend(), providerName: (id) => catalog.list().find((p) => p.id === id)?.displayName ?? id, publicUrl });
  const eventsRepo = createEventsRepo(db.kysely);
  // Change notices queue sync runs (defined below; the consumer is called only after wiring).
  const syncConsumer: EventConsumer = (tx, batch, afterCommit) => syncs.onEvents(tx, batch, afterCommit);
  const events = createEventsService({ repo: eventsRepo, tenancy: db, clock, consumers: [notificationConsumer, deliveryConsumer, syncConsumer, ...(eventConsumers ?? [])], ...(log ? { log } : {}) });
  const warm = createWarmCache();
  const outbox = createOutbox({ repo: eventsRepo, clock, appended: events.requestDrain });
  const store = createConnectionStore({ repo: createConnectionsRepo(db.kysely), vault, catalog, outbox, clock, warm });
  const oauthClient = createOAuthClient({ apps: oauthApps, http });
  const oauthDeps = { store, tenancy, vault, catalog, client: oauthClient, audit, clock, ...(log ? { log } : {}) };
  const tokens = createTokenRefresher({ ...oauthDeps, ...(afterProviderAnswer ? { afterProviderAnswer } : {}) });
  const disconnect = createDisconnectService({ ...oauthDeps, http });
  const connectSessionsRepo = createConnectSessionsRepo(db.kysely);
  const connectCompletion = createConnectSessionCompletion(connectSessionsRepo, clock);
  const authorize = createAuthorizeService({ ...oauthDeps, repo: createOAuthRepo(db.kysely), publicUrl, http, connectSessions: connectCompletion });
  const connections = createConnectionsService({
    store,
    tenancy,
    catalog,
    audit,
    mfa,
    clock,
    tenantUrls,
    http,
    fresh: tokens.fresh,
    revokeAtProvider: disconnect.revokeAtProvider,
    readAsTenant: (tenantId, select) => readAsTenant(db.pool, tenantId, select),
    warm,
    publicUrl,
    connectSessions: connectCompletion,
  });
  const connectSessions = createConnectSessionsService({ repo: connectSessionsRepo, tenancy, catalog, connections, authorize, store, tenants, audit, clock, publicUrl, production });
  const metrics = createMetrics({ defaultMetrics: Boolean(log) });
  const breakers = createBreakers(breaker ?? {});
  const limiter = createRateLimiter({ repo: createLimitsRepo(), tenancy: db, clock, onLimited: (provider, source) => metrics.rateLimited.inc({ provider, source }) });
  const proxy = createProxyService({
    connections,
    catalog,
    limiter,
    breakers,
    metrics,
    http,
    publicUrl,
    ...(log ? { log } : {}),
  });
  const tenantClients = createTenantClients({ proxy, connections, catalog });
  const syncsRepo = createSyncsRepo(db.kysely);
  // Syncs decrypt nothing themselves (the proxy does, in its own transactions): no data keys to prepare.
  const syncDeps = { repo: syncsRepo, tenancy: db, store, adapterFor, ...(log ? { log } : {}) };
  const syncProviders = () => catalog.list().map((p) => p.id).filter((id) => adapterFor({ id }).syncs);
  const schedules = createSchedules({ ...syncDeps, repo: createSchedulesRepo(db.kysely), syncProviders, clock, audit });
  // A succeeded stock sync is checked for low stock in its own closing transaction (commerce is defined below).
  const runOutbox: Pick<typeof outbox, 'append'> = {
    append: async (tx, type, subject, payload) => {
      const id = await outbox.append(tx, type, subject, payload);
      if (type === 'sync.succeeded') await commerce.evaluateRun(tx, subject, payload as EventPayload<'sync.succeeded'>);
      return id;
    },
  };
  const syncs = createSyncsService({ ...syncDeps, schedules, audit, runner: createSyncRunner({ ...syncDeps, outbox: runOutbox, clock, tenantFetch: (...a) => tenantClients.fetch(...a) }) });
  const actions = createActionRunner({ repo: createActionsRepo(db.kysely), tenancy: db, store, adapterFor, clock, tenantFetch: (...a) => tenantClients.fetch(...a), ...(log ? { log } : {}) });
  const exchangeRates = createExchangeRatesService({
    repo: createExchangeRatesRepo(db.kysely), tenancy: db, store, actions, tenantFetch: (...a) => tenantClients.fetch(...a), clock, ...(log ? { log } : {}),
    source: ecbRateSource((url, init) => http.fetch(url, init), { today: () => clock().toISOString().slice(0, 10) }),
  });
  const workingCapital = createWorkingCapitalService({ repo: createWorkingCapitalRepo(db.kysely), tenancy: db, store, syncs, adapterFor, clock, ...(log ? { log } : {}) });
  const commerce = createCommerceService({ repo: createCommerceRepo(), tenancy: db, records: syncsRepo, connections: store, adapterFor, outbox, audit, clock });
  const inboundWebhooks = createInboundWebhooksService({
    repo: createInboundWebhooksRepo(db.kysely),
    tenancy,
    catalog,
    store,
    outbox,
    metrics,
    clock,
    publicUrl,
    ...(webhooks.secretOverlapHours !== undefined ? { secretOverlapHours: webhooks.secretOverlapHours } : {}),
    apps: {
      secrets: (provider) => webhookAppSecrets({ webhooks, oauthApps }, provider, adapterFor({ id: provider }).webhooks?.signedWithClientSecret === true),
      verifyToken: (provider) => webhooks.verifyTokens[provider]?.reveal(),
    },
    onDeliveryStatus: notifications.onDeliveryStatus,
    eventsAppended: events.requestDrain,
    ...(log ? { log } : {}),
  });
  // Tenants' webhook endpoints are tenant-supplied URLs: the same guard, its own keep-alive client.
  const webhookUrls = createTenantUrlGuard({ allowPrivate: allowPrivateProviderUrls, field: 'url', ...(resolveHost ? { resolve: resolveHost } : {}) });
  const webhookEndpoints = createWebhookEndpointsService({ repo: webhookEndpointsRepo, tenancy, vault, audit, urls: webhookUrls, clock });
  const webhookDeliveries = createDeliverySender({
    repo: webhookEndpointsRepo,
    tenancy,
    vault,
    http: createProviderHttp({ tenantUrls: webhookUrls }),
    outbox,
    clock,
    ...(deliveries.timeoutMs ? { timeoutMs: deliveries.timeoutMs } : {}),
    ...(deliveries.random ? { random: deliveries.random } : {}),
    retryIn: (ms) => webhookEndpoints.requestSend(ms),
    metrics,
    ...(log ? { log } : {}),
  });
  const platformHealth = createPlatformHealthService({ repo: createPlatformHealthRepo(db.kysely), ring, tenants, clock });
  return { platformHealth, syncs, actions, exchangeRates, workingCapital, commerce, webhookEndpoints, webhookDeliveries, inboundWebhooks, notifications, passwordReset, audit, tenants, auth, idpAuth, signupInvitations, mfa, onboarding, users, apiKeys, adminAuth, attempts, vault, vaultKeys, catalog, store, connections, connectSessions, authorize, disconnect, tokens, events, metrics, proxy, tenantClients };
}

export type Services = ReturnType<typeof createServices>;
