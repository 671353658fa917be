import { EVENT_TYPES, paginate } from '@keyhold/contract';
import ipaddr from 'ipaddr.js';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError, notFound } from '../../platform/errors.js';
import type { TenantUrlGuard } from '../../platform/http/public-dispatcher.js';
import { isPublicAddress } from '../../platform/http/ssrf.js';
import type { AuditService } from '../audit/audit.service.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { Vault } from '../vault/vault.service.js';
import type { DeliveryRow, EndpointRow, WebhookEndpointsRepo } from './webhook-endpoints.repo.js';
import { newSigningKey } from './signing.js';

export const SECRET_PURPOSE = 'webhook_endpoint.secret';
export const PREVIOUS_SECRET_PURPOSE = 'webhook_endpoint.previous_secret';
/** How long the secret a rotation replaced still signs (both signatures are sent meanwhile). */
export const ROTATION_OVERLAP_MS = 24 * 60 * 60 * 1000;
const MAX_ENDPOINTS = 50;
/** A recovery re-sends at most this many failed deliveries per call. */
const MAX_RECOVER = 10_000;

const EventFilter = z.array(z.enum([...EVENT_TYPES, '*'])).min(1).max(100)
  .refine((a) => new Set(a).size === a.length, 'must not repeat a type')
  .describe("Event types to send (GET /api/events lists them), or ['*'] for all");
export const CreateEndpointInput = z.strictObject({
  url: z.string().max(2048).describe('https; must resolve to public addresses'),
  description: z.string().max(500).default(''),
  eventTypes: EventFilter,
  enabled: z.boolean().default(true),
  signatureScheme: z.enum(['v1', 'v1a']).default('v1')
    .describe('v1: HMAC-SHA256 with a whsec_ secret shown once; v1a: ed25519, verified with the endpoint\'s public key (whpk_)'),
});
/** Where signed events go is as sensitive as the secret: a URL change has its own step-up route. */
const URL_HAS_ITS_OWN_ROUTE = 'url: change it with PUT /api/webhook-endpoints/{id}/url (owner, admin, with X-MFA-Code)';
export const UpdateEndpointInput = z.strictObject({
  description: z.string().max(500).optional(),
  eventTypes: EventFilter.optional(),
  enabled: z.boolean().optional().describe('true also re-enables an endpoint Keyhold disabled (410 or 5 days failing)'),
}, { error: (iss) => (iss.code === 'unrecognized_keys' && iss.keys.includes('url') ? URL_HAS_ITS_OWN_ROUTE : undefined) });
export const ChangeUrlInput = z.strictObject({ url: CreateEndpointInput.shape.url });
export type CreateEndpointInput = z.infer<typeof CreateEndpointInput>;
export type UpdateEndpointInput = z.infer<typeof UpdateEndpointInput>;

export type WebhookEndpointsDeps = {
  repo: WebhookEndpointsRepo;
  tenancy: Tenancy;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  /** The SSRF guard of tenant-supplied URLs (https, public addresses unless the operator allows private ones). */
  urls: Pick<TenantUrlGuard, 'check'>;
  clock: Clock;
};

/** An endpoint as the API shows it: never a secret. */
export function endpointView(r: EndpointRow, now: Date) {
  const rotating = r.previous_secret && r.previous_secret_until && r.previous_secret_until > now;
  return {
    id: r.id,
    url: r.url,
    description: r.description,
    eventTypes: r.event_types,
    enabled: r.enabled,
    signatureScheme: r.signature_scheme,
    publicKey: r.public_key,
    disabledReason: r.disabled_reason,
    failingSince: r.failing_since?.toISOString() ?? null,
    previousSecretValidUntil: rotating ? r.previous_secret_until!.toISOString() : null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}
export type EndpointView = ReturnType<typeof endpointView>;

const deliveryView = (d: Omit<DeliveryRow, 'body' | 'tenant_id'>) => ({
  id: d.id,
  eventId: d.event_id,
  eventType: d.event_type,
  status: d.status,
  attempts: d.attempts,
  nextAttemptAt: d.status === 'pending' ? (d.next_attempt_at?.toISOString() ?? null) : null,
  lastStatus: d.last_status,
  lastError: d.last_error,
  createdAt: d.created_at.toISOString(),
  finishedAt: d.finished_at?.toISOString() ?? null,
});

/**
 * Plain http goes only to a local receiver: `localhost` or a loopback/private address literal (a
 * name is not resolved here: what it resolves to when sending may differ). Public hosts need https.
 */
export function plainHttpAllowed(url: URL): boolean {
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  return ipaddr.isValid(host) && !isPublicAddress(host);
}

/** The host of an endpoint's URL: what events and logs may name (never its path or query). */
export const urlHost = (url: string) => new URL(url).hostname;

export function createWebhookEndpointsService(deps: WebhookEndpointsDeps) {
  const { repo, tenancy } = deps;
  let kick: (afterMs?: number) => void = () => undefined;
  const inTenant = <T>(p: TenantPrincipal, fn: (tx: TenantTx) => Promise<T>) => {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, fn);
  };
  const found = async (tx: TenantTx, p: TenantPrincipal, id: string, lock = false) =>
    (await repo.findEndpoint(tx, p.tenantId, id, { lock })) ?? Promise.reject(notFound('Webhook endpoint'));
  /** Sending to a disabled endpoint is refused up front (it would only end as failed). */
  async function enabledOrRefuse(tx: TenantTx, p: TenantPrincipal, id: string) {
    const ep = await found(tx, p, id);
    if (!ep.enabled) throw new AppError('CONFLICT', 'This endpoint is disabled; enable it first');
    return ep;
  }
  async function checkUrl(raw: string) {
    const url = await deps.urls.check(raw, 'url');
    // The guard lets any scheme through when the operator allows private URLs: plain http stays
    // possible only then, and only to a loopback or private address (a local receiver).
    if (url.protocol !== 'https:' && !plainHttpAllowed(url)) throw new AppError('VALIDATION_FAILED', 'url: must use https (plain http only to a loopback or private address, with the operator\'s private-URL setting)');
    return url.toString();
  }

  /** The secret is in the answer for v1 only: with v1a the tenant needs just the public key (in the view). */
  const withSecret = (view: EndpointView, key: ReturnType<typeof newSigningKey>) => (key.publicKey ? view : { ...view, secret: key.secret.reveal() });

  async function create(p: TenantPrincipal, input: CreateEndpointInput): Promise<EndpointView & { secret?: string }> {
    assertRole(p, 'admin');
    const url = await checkUrl(input.url); // DNS: before the transaction
    const key = newSigningKey(input.signatureScheme);
    const row = await inTenant(p, async (tx) => {
      await repo.lockTenantEndpoints(tx, p.tenantId);
      if ((await repo.countEndpoints(tx, p.tenantId)) >= MAX_ENDPOINTS) throw new AppError('QUOTA_EXCEEDED', `An organization has at most ${MAX_ENDPOINTS} webhook endpoints`);
      const id = uuidv7();
      const now = deps.clock();
      const r = {
        id, tenant_id: p.tenantId, url, description: input.description, event_types: input.eventTypes, enabled: input.enabled,
        signature_scheme: input.signatureScheme, public_key: key.publicKey,
        secret: await deps.vault.encrypt(tx, SECRET_PURPOSE, id, key.secret), created_at: now, updated_at: now,
      };
      await repo.insertEndpoint(tx, r);
      await deps.audit.record(p, { action: 'webhook_endpoints.create', entity: { type: 'webhook_endpoint', id }, metadata: { host: urlHost(url), eventTypes: input.eventTypes } }, tx);
      return { ...r, previous_secret: null, previous_secret_until: null, failing_since: null, disabled_reason: null };
    });
    return withSecret(endpointView(row, deps.clock()), key);
  }

  const list = (p: TenantPrincipal) => inTenant(p, async (tx) => (await repo.listEndpoints(tx, p.tenantId)).map((r) => endpointView(r, deps.clock())));
  const get = (p: TenantPrincipal, id: string) => inTenant(p, async (tx) => endpointView(await found(tx, p, id), deps.clock()));

  async function update(p: TenantPrincipal, id: string, input: UpdateEndpointInput) {
    // Services are called without HTTP too: the URL moves only through `changeUrl` (step-up at the edge).
    if ('url' in input) throw new AppError('VALIDATION_FAILED', URL_HAS_ITS_OWN_ROUTE);
    return inTenant(p, async (tx) => {
      await found(tx, p, id, true);
      const row = await repo.updateEndpoint(tx, p.tenantId, id, {
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.eventTypes !== undefined ? { event_types: input.eventTypes } : {}),
        // Enabling starts afresh: the reason and the failing streak are forgotten.
        ...(input.enabled === true ? { enabled: true, disabled_reason: null, failing_since: null } : input.enabled === false ? { enabled: false } : {}),
        updated_at: deps.clock(),
      });
      await deps.audit.record(p, { action: 'webhook_endpoints.update', entity: { type: 'webhook_endpoint', id }, metadata: { fields: Object.keys(input) } }, tx);
      return endpointView(row!, deps.clock());
    });
  }

  /** Moves the endpoint (and so its signed payloads) to another URL: step-up at the edge, like creating one. */
  async function changeUrl(p: TenantPrincipal, id: string, input: z.infer<typeof ChangeUrlInput>) {
    assertRole(p, 'admin');
    const url = await checkUrl(input.url); // DNS: before the transaction
    return inTenant(p, async (tx) => {
      const before = await found(tx, p, id, true);
      const row = await repo.updateEndpoint(tx, p.tenantId, id, { url, updated_at: deps.clock() });
      await deps.audit.record(p, { action: 'webhook_endpoints.change_url', entity: { type: 'webhook_endpoint', id }, metadata: { fromHost: urlHost(before.url), toHost: urlHost(url) } }, tx);
      return endpointView(row!, deps.clock());
    });
  }

  const remove = (p: TenantPrincipal, id: string) =>
    inTenant(p, async (tx) => {
      const row = await found(tx, p, id, true);
      await repo.deleteEndpoint(tx, p.tenantId, id);
      await deps.audit.record(p, { action: 'webhook_endpoints.delete', entity: { type: 'webhook_endpoint', id }, metadata: { host: urlHost(row.url) } }, tx);
    });

  const reveal = (p: TenantPrincipal, id: string) =>
    inTenant(p, async (tx) => {
      const row = await found(tx, p, id);
      // A v1a private key never leaves Keyhold: its endpoint's answer is the public key.
      if (row.public_key) return { publicKey: row.public_key };
      const secret = await deps.vault.decrypt(tx, SECRET_PURPOSE, id, row.secret);
      await deps.audit.record(p, { action: 'webhook_endpoints.reveal', entity: { type: 'webhook_endpoint', id } }, tx);
      return { secret: secret.reveal() };
    });

  /** A new secret; the one it replaces keeps signing (alongside) for 24 h. A rotation within that window drops the older one. */
  const rotate = (p: TenantPrincipal, id: string) =>
    inTenant(p, async (tx) => {
      const row = await found(tx, p, id, true);
      const now = deps.clock();
      const current = await deps.vault.decrypt(tx, SECRET_PURPOSE, id, row.secret);
      const key = newSigningKey(row.signature_scheme);
      const until = new Date(now.getTime() + ROTATION_OVERLAP_MS);
      const updated = await repo.updateEndpoint(tx, p.tenantId, id, {
        secret: await deps.vault.encrypt(tx, SECRET_PURPOSE, id, key.secret),
        public_key: key.publicKey,
        previous_secret: await deps.vault.encrypt(tx, PREVIOUS_SECRET_PURPOSE, id, current),
        previous_secret_until: until,
        updated_at: now,
      });
      await deps.audit.record(p, { action: 'webhook_endpoints.rotate', entity: { type: 'webhook_endpoint', id }, metadata: { previousValidUntil: until.toISOString() } }, tx);
      return withSecret(endpointView(updated!, now), key);
    });

  async function deliveries(p: TenantPrincipal, endpointId: string, q: { page: number; limit: number; status?: 'pending' | 'delivered' | 'failed' }) {
    return inTenant(p, async (tx) => {
      await found(tx, p, endpointId);
      const { rows, total } = await repo.pageDeliveries(tx, p.tenantId, { endpointId, limit: q.limit, offset: (q.page - 1) * q.limit, ...(q.status ? { status: q.status } : {}) });
      const attempts = await repo.attemptsOf(tx, p.tenantId, rows.map((r) => r.id));
      const items = rows.map((d) => ({
        ...deliveryView(d),
        attemptLog: attempts.filter((a) => a.delivery_id === d.id).map((a) => ({
          attempt: a.attempt, at: a.attempted_at.toISOString(), status: a.status_code, latencyMs: a.latency_ms, error: a.error, response: a.response,
        })),
      }));
      return { items, pagination: paginate(q.page, q.limit, total) };
    });
  }

  /** One more attempt now for a finished delivery (its id, and so its `webhook-id`, unchanged). */
  async function retry(p: TenantPrincipal, endpointId: string, deliveryId: string) {
    const view = await inTenant(p, async (tx) => {
      await enabledOrRefuse(tx, p, endpointId);
      const d = await repo.findDelivery(tx, p.tenantId, endpointId, deliveryId);
      if (!d) throw notFound('Delivery');
      if (d.status === 'pending') throw new AppError('CONFLICT', 'This delivery is already scheduled');
      if (d.body === null) throw new AppError('CONFLICT', 'This delivery is past the payload retention and cannot be sent again');
      await repo.requeue(tx, p.tenantId, [d.id], deps.clock());
      await deps.audit.record(p, { action: 'webhook_deliveries.retry', entity: { type: 'webhook_delivery', id: d.id } }, tx);
      return deliveryView({ ...d, status: 'pending', next_attempt_at: deps.clock(), finished_at: null });
    });
    kick();
    return view;
  }

  /** Sends again every delivery to this endpoint that failed since `since` (still within the payload retention). */
  async function recover(p: TenantPrincipal, endpointId: string, since: Date) {
    const n = await inTenant(p, async (tx) => {
      await enabledOrRefuse(tx, p, endpointId);
      const ids = (await repo.failedSince(tx, p.tenantId, endpointId, since, MAX_RECOVER)).map((r) => r.id);
      const count = await repo.requeue(tx, p.tenantId, ids, deps.clock());
      await deps.audit.record(p, { action: 'webhook_endpoints.recover', entity: { type: 'webhook_endpoint', id: endpointId }, metadata: { since: since.toISOString(), deliveries: count } }, tx);
      return count;
    });
    kick();
    return { requeued: n };
  }

  /** A `test.ping` delivery, sent like any other (signed, retried, logged). */
  async function test(p: TenantPrincipal, endpointId: string) {
    const view = await inTenant(p, async (tx) => {
      await enabledOrRefuse(tx, p, endpointId);
      const now = deps.clock();
      const id = uuidv7();
      const body = JSON.stringify({ type: 'test.ping', timestamp: now.toISOString(), data: { endpointId } });
      await repo.insertDeliveries(tx, [{ id, tenant_id: p.tenantId, endpoint_id: endpointId, event_id: null, event_type: 'test.ping', body, next_attempt_at: now, created_at: now }]);
      return deliveryView({ id, endpoint_id: endpointId, event_id: null, event_type: 'test.ping', status: 'pending', attempts: 0, next_attempt_at: now, last_status: null, last_error: null, created_at: now, finished_at: null });
    });
    kick();
    return view;
  }

  return {
    create, list, get, update, changeUrl, remove, reveal, rotate, deliveries, retry, recover, test,
    /** Asks for a send soon, or in `afterMs` (the jobs set how; tests call `sendDue` themselves). */
    requestSend: (afterMs?: number) => kick(afterMs),
    useKick: (k: (afterMs?: number) => void) => { kick = k; },
  };
}
export type WebhookEndpointsService = ReturnType<typeof createWebhookEndpointsService>;
