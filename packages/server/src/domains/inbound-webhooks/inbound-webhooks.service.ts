import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { v7 as uuidv7 } from 'uuid';
import { paginate } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import type { InboundStatus } from '../../platform/db/schema.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { boundedMap } from '../../platform/bounded-map.js';
import { createGroupWriter } from '../../platform/db/group-writer.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { InboundWebhook, ProviderAdapter, WebhookConnection, WebhookEvent, WebhookHooks, WebhookReply } from '../../providers/adapter.js';
import { adapterFor } from '../../providers/registry.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ConnectionStore } from '../connections/store.js';
import type { Outbox } from '../events/outbox.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import { type InboundEventRow, type InboundWebhooksRepo, type Route, prepareStoreRow } from './inbound-webhooks.repo.js';
import { createInboundProcessing } from './inbound-webhooks.processing.js';

/** The operator's app-level webhook configuration (secrets never leave this object but into `verify`). */
export type WebhookAppConfig = {
  /** Current signing secrets per provider (several during a rotation). */
  secrets(provider: string): readonly string[];
  /** The subscription verify token of a provider's GET handshake. */
  verifyToken(provider: string): string | undefined;
};

/**
 * Asks for a drain soon (after a commit); set once the job runner exists (inbound-webhooks.jobs.ts).
 * Never awaited by a delivery: the ack does not wait for the job queue.
 */
export type Kick = () => void;

export type InboundWebhooksDeps = {
  repo: InboundWebhooksRepo;
  tenancy: Tenancy;
  catalog: Pick<Catalog, 'list'>;
  store: Pick<ConnectionStore, 'byId' | 'webhookSecretsOf' | 'disconnect'>;
  outbox: Pick<Outbox, 'appendMany'>;
  apps: WebhookAppConfig;
  metrics: Pick<Metrics, 'webhooks'>;
  clock: Clock;
  publicUrl: string;
  /** How long a connection's replaced webhook secret still verifies (KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS, 24). */
  secretOverlapHours?: number;
  log?: Pick<Logger, 'warn' | 'info'>;
  /** Outbox events were written by the store itself: ask for an outbox drain soon. */
  eventsAppended?: () => void;
  /** The adapter registry (tests give one with a provider of their own). */
  adapterFor?: (provider: { id: string }) => ProviderAdapter;
  /** Told, in the event's transaction, what an event says about a message Keyhold sent (notifications). */
  onDeliveryStatus?: (tx: TenantTx, status: { provider: string; messageId: string; status: 'bounced' }) => Promise<void>;
};

export type Delivery = { provider: string; endpointToken?: string; method: 'GET' | 'POST'; raw: Buffer; headers: Record<string, string | string[] | undefined>; query: Record<string, string> };

/** Headers worth keeping with an event: descriptive ones, never anything that signs or authenticates. */
const SECRET_HEADER = /sig|hmac|auth|token|secret|key|cookie|password/i;
function safeHeaders(headers: InboundWebhook['headers'], secrets: readonly string[], signing: readonly string[]): Record<string, string> {
  // A provider that authenticates with a shared value in a header the tenant named (no signature)
  // would otherwise have that value kept: any header carrying a secret is dropped whatever its name,
  // and so is any header the adapter says signs (a signature header whose name the tenant chose).
  const carriesSecret = (v: string) => secrets.some((s) => s.length > 0 && v.includes(s));
  const kept = Object.entries(headers).filter(([name, v]) => v !== undefined && !SECRET_HEADER.test(name) && !signing.includes(name) && !carriesSecret(v) && (name === 'content-type' || name === 'user-agent' || /^x-|-(id|topic|event|timestamp)$/.test(name)));
  return Object.fromEntries(kept.slice(0, 30).map(([name, v]) => [name, String(v).slice(0, 200)]));
}

/** Anything an adapter may put in an id or topic is stored, but only printable ASCII is (a column check). */
const PRINTABLE = /^[\x21-\x7e]+$/;
const refusal = (reason: string) => new AppError('WEBHOOK_SIGNATURE_INVALID', `The webhook was refused (${reason}); nothing was stored`);
/** Routes (ids only) this node remembers; a stale one is caught by the write's ownership check. */
const ROUTE_CACHE_SIZE = 100_000;
/**
 * Concurrent store writes per node: one while writes are quick, a second beside it once the
 * running one has taken `MORE_WRITES_AFTER_MS`. Fewer, larger groups measured faster than more,
 * smaller ones (on 2 cores at 32 concurrent deliveries, one write at a time ~8% more deliveries/s
 * than two at once; three and four slower still): each call has a fixed cost, and concurrent
 * writes of one tenant contend for the same index pages (their right edges: the keys are
 * time-ordered) and for the WAL. The second write is for a write that stalls (a lock, a slow
 * flush): it holds the others up for that long at most, which keeps the ack's tail short.
 */
const WRITES_IN_FLIGHT = 2;
const MORE_WRITES_AFTER_MS = 10;
/** One grouped write carries at most about this many bytes (bodies are up to 1 MiB each). */
const WRITE_MAX_BYTES = 8 * 1024 * 1024;
/** A row's share of a grouped write, roughly: its raw body (counted for each row sharing it) and the rest. */
const approxBytes = (r: { raw_body: Buffer | null }) => 1024 + (r.raw_body ? r.raw_body.length : 0);
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * The payload as jsonb can hold it: NUL and lone surrogates become U+FFFD (jsonb refuses both, and a
 * signed delivery that always fails would be redelivered forever). The raw body keeps the exact bytes.
 */
function jsonbSafe(value: unknown): unknown {
  const text = (s: string) => s.replaceAll('\u0000', '\uFFFD').replace(LONE_SURROGATE, '\uFFFD');
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) return value.map(jsonbSafe);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), jsonbSafe(v)]));
  return value;
}

/** Whether an event's payload is the JSON body itself (then the raw bytes are the only copy kept). */
function isTheBody(payload: unknown, raw: Buffer): boolean {
  if (payload === null || typeof payload !== 'object') return false;
  // Most providers send compact JSON: the payload written back is then the very bytes, which is
  // cheaper to see than parsing the body again and comparing trees.
  if (JSON.stringify(payload) === raw.toString('utf8')) return true;
  try {
    return isDeepStrictEqual(payload, JSON.parse(raw.toString('utf8')));
  } catch {
    return false;
  }
}

export function createInboundWebhooksService(deps: InboundWebhooksDeps) {
  const { repo, tenancy, metrics } = deps;
  let kick: Kick | undefined;
  const count = (provider: string, outcome: string, n = 1) => n > 0 && metrics.webhooks.inc({ provider, outcome }, n);

  /** The adapter's webhook hooks at this URL's level; anything else is not a webhook URL (404). */
  function hooksFor(provider: string, level: 'app' | 'connection'): WebhookHooks {
    const hooks = deps.catalog.list().find((p) => p.id === provider)?.webhooks ? (deps.adapterFor ?? adapterFor)({ id: provider }).webhooks : undefined;
    if (!hooks || hooks.level !== level) throw new AppError('NOT_FOUND', 'No webhook endpoint at this URL');
    return hooks;
  }

  const asRequest = (d: Delivery): InboundWebhook => ({
    method: d.method,
    raw: d.raw,
    headers: Object.fromEntries(Object.entries(d.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(', ') : v])),
    query: d.query,
  });

  /**
   * Verifies, splits and stores a delivery, and says what to answer. Stored means committed: every
   * tenant's events in one transaction (each inside its own tenant's RLS context), unknown
   * accounts in the quarantine; an error anywhere before the answer means no 2xx, so the provider
   * delivers again.
   */
  async function receive(d: Delivery): Promise<WebhookReply> {
    const level = d.endpointToken === undefined ? 'app' : 'connection';
    const hooks = hooksFor(d.provider, level);
    const req = asRequest(d);
    if (d.method === 'GET') {
      const reply = hooks.handshake?.(req, { ...(deps.apps.verifyToken(d.provider) ? { verifyToken: deps.apps.verifyToken(d.provider)! } : {}) });
      if (!reply) throw new AppError('NOT_FOUND', 'No webhook endpoint at this URL');
      return reply;
    }
    count(d.provider, 'received');
    let route: Route | undefined;
    let secrets: readonly string[] = [];
    let connection: WebhookConnection | undefined;
    if (level === 'app') secrets = deps.apps.secrets(d.provider);
    else {
      route = await repo.routeByToken(d.provider, d.endpointToken!);
      // An unknown token gets the very refusal a wrong signature gets (not `no_secret`), so tokens cannot be probed.
      if (!route) {
        count(d.provider, 'rejected');
        throw refusal('bad_signature');
      }
      ({ secrets, connection } = await connectionSigning(route, hooks.secretField));
    }
    // Called even without a secret: the adapter refuses (`no_secret`), or uses the key the provider
    // publishes when the tenant set none (an RSA-signing provider).
    const verdict = hooks.verify(req, secrets, deps.clock(), connection);
    if (!verdict.ok) {
      count(d.provider, 'rejected');
      throw refusal(verdict.reason);
    }
    count(d.provider, 'verified');
    const handshake = hooks.handshake?.(req, {});
    if (handshake) return handshake;
    let events: WebhookEvent[];
    try {
      events = hooks.events(req, connection);
    } catch (err) {
      throw new AppError('VALIDATION_FAILED', 'The webhook body is not one this provider sends', { cause: err });
    }
    for (const e of events) {
      if (!PRINTABLE.test(e.externalId) || e.externalId.length > 300 || !PRINTABLE.test(e.topic) || e.topic.length > 200) {
        throw new AppError('VALIDATION_FAILED', 'The webhook names an event id or topic Keyhold cannot store');
      }
    }
    // Events whose processing is only outbox events are processed as they are stored; a disconnect,
    // or news about a message Keyhold sent, waits for the processing job (application code).
    const inStore = !(deps.onDeliveryStatus && hooks.deliveryStatus);
    await store(d.provider, req, events, route, secrets, hooks.signatureHeaders?.(connection) ?? [], inStore);
    // Providers read only the status, and some accept a reply only when it has no body.
    return { status: 200 };
  }

  /**
   * The connection's signing secret (its `secretField`; also the one a rotation replaced, during
   * the overlap window) and its non-secret config, which some schemes read.
   */
  async function connectionSigning(route: Route, field: string | undefined): Promise<{ secrets: string[]; connection?: WebhookConnection }> {
    const replacedSince = new Date(deps.clock().getTime() - (deps.secretOverlapHours ?? 24) * 3_600_000);
    return tenancy.withTenant(route.tenantId, async (tx) => {
      const row = await deps.store.byId(tx, route.connectionId);
      if (!row) return { secrets: [] };
      const secrets = field ? await deps.store.webhookSecretsOf(tx, row, field, replacedSince) : [];
      return { secrets, connection: { config: row.config } };
    });
  }

  /**
   * Routes by key: this node remembers the routes it resolved (the hot path saves a lookup per
   * delivery); the write checks ownership in its own statement, so a remembered route that went
   * stale is noticed there, forgotten, and resolved again from the database. Keys nobody owns
   * are never remembered: quarantine is always decided by the database.
   */
  const routeCache = boundedMap<string, Route>(ROUTE_CACHE_SIZE);
  // Group commit for the store before the ack: a few writes at a time, the rest wait and go together.
  const writer = createGroupWriter({ write: repo.storePrepared, maxInFlight: WRITES_IN_FLIGHT, moreAfterMs: MORE_WRITES_AFTER_MS, maxWeight: WRITE_MAX_BYTES, weight: approxBytes });
  const cacheKey = (provider: string, key: string) => `${provider}\u0000${key.toLowerCase()}`;
  async function routesFor(provider: string, keys: string[], fresh: boolean): Promise<Map<string, Route>> {
    const routes = new Map<string, Route>();
    const missing = fresh ? keys : keys.filter((k) => {
      const hit = routeCache.get(cacheKey(provider, k));
      if (hit) routes.set(k, hit);
      return !hit;
    });
    if (missing.length === 0) return routes;
    for (const [k, route] of await repo.routesByKey(provider, missing)) {
      routeCache.set(cacheKey(provider, k), route);
      routes.set(k, route);
    }
    return routes;
  }

  async function store(provider: string, req: InboundWebhook, events: WebhookEvent[], tokenRoute: Route | undefined, secrets: readonly string[], signing: readonly string[], inStore: boolean) {
    const receivedAt = deps.clock();
    const headers = safeHeaders(req.headers, secrets, signing.map((n) => n.toLowerCase()));
    // The raw body is kept only where it is one account's alone: a batch spanning several accounts
    // would put the others' data under each row. Decided once from the whole delivery (never from
    // the part a retry resends), and a remembered route may be stale, so "several keys, one
    // tenant" is not proof of one owner either.
    const raw = new Set(events.map((e) => e.routingKey ?? '')).size === 1 ? req.raw : null;
    let pending = events;
    let stored = 0;
    let announced = 0;
    for (const fresh of [false, true]) {
      const keys = [...new Set(pending.flatMap((e) => (e.routingKey ? [e.routingKey] : [])))];
      const routes = tokenRoute ? new Map<string, Route>() : await routesFor(provider, keys, fresh);
      const result = await storeRouted(provider, raw, inStore, pending, (e) => tokenRoute ?? (e.routingKey ? routes.get(e.routingKey) : undefined), headers, receivedAt);
      stored += result.stored;
      announced += result.announced;
      if (result.stale.length === 0) break;
      for (const e of result.stale) if (e.routingKey) routeCache.delete(cacheKey(provider, e.routingKey));
      // Ownership changed between the database's answer and the write: no 2xx, the provider retries.
      if (fresh) throw new AppError('INTEGRATION_UNAVAILABLE', 'The connection for this webhook changed while it was stored; deliver it again');
      pending = result.stale;
    }
    // After every commit. If the process dies here, the minutely drains find them anyway.
    if (stored > announced) kick?.();
    if (announced > 0) deps.eventsAppended?.();
  }

  /**
   * Stores events by the routes given; returns how many were new and the events whose route went
   * stale. Every tenant's rows of this delivery go in one write, grouped with concurrent
   * deliveries' (`writer`): one transaction for many under load.
   */
  async function storeRouted(provider: string, raw: Buffer | null, inStore: boolean, events: WebhookEvent[], routeOf: (e: WebhookEvent) => Route | undefined, headers: Record<string, string>, receivedAt: Date) {
    const routed: Array<{ e: WebhookEvent; route: Route }> = [];
    const quarantined: WebhookEvent[] = [];
    for (const e of events) {
      const route = routeOf(e);
      if (route) routed.push({ e, route });
      else quarantined.push(e);
    }
    // One event that is the whole body keeps it once, as the raw bytes (payload NULL).
    const bodyOnly = raw !== null && events.length === 1 && isTheBody(events[0]!.payload, raw);
    const rows = routed.map(({ e, route }) => ({
      id: uuidv7(), tenant_id: route.tenantId, connection_id: route.connectionId, provider, topic: e.topic, external_id: e.externalId,
      ...(bodyOnly ? {} : { payload: jsonbSafe(e.payload ?? null) }), headers, received_at: receivedAt, effect: e.effect ?? null, raw_body: raw, routing_key: e.routingKey ?? null,
      ...(inStore && e.effect !== 'disconnected' ? { announce: { received_event_id: uuidv7(), changed_event_id: uuidv7() } } : {}),
    }));
    // Made into JSON now, while the running write is in the database, not when the next one starts.
    const results = await writer.push(rows.map(prepareStoreRow));
    const owned = results.filter((r) => r.owned);
    const stored = owned.filter((r) => r.stored).length;
    const announced = rows.filter((r, i) => r.announce && results[i]!.stored).length;
    count(provider, 'duplicate', owned.length - stored);
    const stale = routed.filter((_, i) => !results[i]!.owned).map((r) => r.e);
    const q = await repo.insertQuarantine(quarantined.map((e) => ({
      id: randomUUID(), provider, routing_key: (e.routingKey ?? '?').slice(0, 300), topic: e.topic, external_id: e.externalId,
      payload: JSON.stringify(jsonbSafe(e.payload ?? null)), raw_body: raw, headers: JSON.stringify(headers), received_at: receivedAt, effect: e.effect ?? null,
    })));
    count(provider, 'quarantined', q);
    return { stored, announced, stale };
  }

  const { process, recordFailure, drain } = createInboundProcessing({ repo, tenancy, store: deps.store, outbox: deps.outbox, clock: deps.clock, adapterFor: deps.adapterFor ?? adapterFor, ...(deps.onDeliveryStatus ? { onDeliveryStatus: deps.onDeliveryStatus } : {}) });

  const toView = (r: Pick<InboundEventRow, 'id' | 'connection_id' | 'provider' | 'topic' | 'external_id' | 'received_at' | 'status' | 'attempts' | 'last_error' | 'processed_at'>) => ({
    id: r.id,
    connectionId: r.connection_id,
    provider: r.provider,
    topic: r.topic,
    externalId: r.external_id,
    status: r.status,
    attempts: r.attempts,
    lastError: r.last_error,
    receivedAt: r.received_at.toISOString(),
    processedAt: r.processed_at ? r.processed_at.toISOString() : null,
  });

  /** The tenant's inbound events, newest first (admin and up). Another tenant's are invisible (RLS). */
  async function list(p: TenantPrincipal, q: { page: number; limit: number; provider?: string; topic?: string; status?: InboundStatus; since?: Date }) {
    assertRole(p, 'admin');
    const { page, limit, ...filters } = q;
    const { rows, total } = await tenancy.withTenant(p.tenantId, (tx) => repo.page(tx, { ...filters, limit, offset: (page - 1) * limit }));
    return { items: rows.map(toView), pagination: paginate(page, limit, total) };
  }

  /** Processes an event again (after a fix, or a failed one); 404 for another tenant's id. */
  async function replay(p: TenantPrincipal, id: string) {
    assertRole(p, 'admin');
    const row = await tenancy.withTenant(p.tenantId, async (tx) => {
      const reset = await repo.resetForReplay(tx, id);
      return reset && repo.byId(tx, id);
    });
    if (!row) throw new AppError('NOT_FOUND', 'No such inbound event');
    kick?.();
    return toView(row);
  }

  /** The platform quarantine, newest first: ids and names only (platform admins). */
  async function quarantine(q: { page: number; limit: number }) {
    const { rows, total } = await repo.quarantinePage(q.limit, (q.page - 1) * q.limit);
    return {
      items: rows.map((r) => ({ id: r.id, provider: r.provider, routingKey: r.routing_key, topic: r.topic, externalId: r.external_id, receivedAt: r.received_at.toISOString() })),
      pagination: paginate(q.page, q.limit, total),
    };
  }

  /**
   * Hands a quarantined event to the tenant whose connection now holds its routing key (409 while
   * none does). The tenant's row is committed before the quarantine row is deleted, so a crash in
   * between leaves a duplicate the unique key absorbs on the next replay, never a loss.
   */
  async function replayQuarantined(id: string) {
    const q = await repo.quarantined(id);
    if (!q) throw new AppError('NOT_FOUND', 'No such quarantined event');
    const route = (await repo.routesByKey(q.provider, [q.routing_key])).get(q.routing_key);
    if (!route) throw new AppError('CONFLICT', 'No connection holds this account yet; connect it first');
    const ids = await tenancy.withTenant(route.tenantId, (tx) => repo.insertEvents(tx, [{
      id: randomUUID(), tenant_id: route.tenantId, connection_id: route.connectionId, provider: q.provider, topic: q.topic, external_id: q.external_id,
      payload: JSON.stringify(q.payload), raw_body: q.raw_body, headers: JSON.stringify(q.headers), received_at: q.received_at, effect: q.effect,
    }]));
    await repo.releaseQuarantined(id);
    if (ids.length) kick?.();
    return { id, delivered: ids.length === 1 };
  }

  /** Retention: raw bodies after `rawDays`, whole rows (and the quarantine) after `days`. */
  const prune = (opts: { rawDays: number; days: number }) => {
    const now = deps.clock().getTime();
    return repo.prune(new Date(now - opts.rawDays * 86_400_000), new Date(now - opts.days * 86_400_000));
  };

  /** The URL a tenant registers at the provider for a per-connection endpoint. */
  const endpointUrl = (provider: string, token: string | null) => (token ? `${deps.publicUrl}/api/webhooks/${provider}/${token}` : null);

  return { receive, process, recordFailure, drain, list, replay, prune, endpointUrl, quarantine, replayQuarantined, useKick: (k: Kick) => { kick = k; } };
}
export type InboundWebhooksService = ReturnType<typeof createInboundWebhooksService>;
