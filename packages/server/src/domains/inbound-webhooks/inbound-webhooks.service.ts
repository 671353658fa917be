import { randomUUID } from 'node:crypto';
import { paginate } from '@keyhold/contract';
import type { Clock } from '../../platform/clock.js';
import type { InboundStatus } from '../../platform/db/schema.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { Metrics } from '../../platform/metrics.js';
import type { InboundWebhook, ProviderAdapter, WebhookConnection, WebhookEvent, WebhookHooks, WebhookReply } from '../../providers/adapter.js';
import { adapterFor } from '../../providers/registry.js';
import type { Catalog } from '../catalog/catalog.js';
import type { ConnectionStore } from '../connections/store.js';
import type { Outbox } from '../events/outbox.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { InboundEventRow, InboundWebhooksRepo, Route } from './inbound-webhooks.repo.js';

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
  store: Pick<ConnectionStore, 'byId' | 'secretsOf' | 'disconnect'>;
  outbox: Pick<Outbox, 'append'>;
  apps: WebhookAppConfig;
  metrics: Pick<Metrics, 'webhooks'>;
  clock: Clock;
  publicUrl: string;
  log?: Pick<Logger, 'warn' | 'info'>;
  /** The adapter registry (tests give one with a provider of their own). */
  adapterFor?: (provider: { id: string }) => ProviderAdapter;
  /** Told, in the event's transaction, what an event says about a message Keyhold sent (notifications). */
  onDeliveryStatus?: (tx: TenantTx, status: { provider: string; messageId: string; status: 'bounced' }) => Promise<void>;
};

export type Delivery = { provider: string; endpointToken?: string; method: 'GET' | 'POST'; raw: Buffer; headers: Record<string, string | string[] | undefined>; query: Record<string, string> };

/** Headers worth keeping with an event: descriptive ones, never anything that signs or authenticates. */
const SECRET_HEADER = /sig|hmac|auth|token|secret|key|cookie|password/i;
function safeHeaders(headers: InboundWebhook['headers'], secrets: readonly string[]): Record<string, string> {
  // A provider that authenticates with a shared value in a header the tenant named (no signature)
  // would otherwise have that value kept: any header carrying a secret is dropped whatever its name.
  const carriesSecret = (v: string) => secrets.some((s) => s.length > 0 && v.includes(s));
  const kept = Object.entries(headers).filter(([name, v]) => v !== undefined && !SECRET_HEADER.test(name) && !carriesSecret(v) && (name === 'content-type' || name === 'user-agent' || /^x-|-(id|topic|event|timestamp)$/.test(name)));
  return Object.fromEntries(kept.slice(0, 30).map(([name, v]) => [name, String(v).slice(0, 200)]));
}

/** Anything an adapter may put in an id or topic is stored, but only printable ASCII is (a column check). */
const PRINTABLE = /^[\x21-\x7e]+$/;
const refusal = (reason: string) => new AppError('WEBHOOK_SIGNATURE_INVALID', `The webhook was refused (${reason}); nothing was stored`);
const MAX_ATTEMPTS = 5;
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
   * Verifies, splits and stores a delivery, and says what to answer. Stored means committed: each
   * tenant's events in one transaction of that tenant, unknown accounts in the quarantine; an
   * error anywhere before the answer means no 2xx, so the provider delivers again.
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
      events = hooks.events(req);
    } catch (err) {
      throw new AppError('VALIDATION_FAILED', 'The webhook body is not one this provider sends', { cause: err });
    }
    for (const e of events) {
      if (!PRINTABLE.test(e.externalId) || e.externalId.length > 300 || !PRINTABLE.test(e.topic) || e.topic.length > 200) {
        throw new AppError('VALIDATION_FAILED', 'The webhook names an event id or topic Keyhold cannot store');
      }
    }
    await store(d.provider, req, events, route, secrets);
    // Providers read only the status, and some accept a reply only when it has no body.
    return { status: 200 };
  }

  /** The connection's signing secret (its `secretField`) and its non-secret config, which some schemes read. */
  async function connectionSigning(route: Route, field: string | undefined): Promise<{ secrets: string[]; connection?: WebhookConnection }> {
    return tenancy.withTenant(route.tenantId, async (tx) => {
      const row = await deps.store.byId(tx, route.connectionId);
      if (!row) return { secrets: [] };
      const value = field ? (await deps.store.secretsOf(tx, row))[field] : undefined;
      return { secrets: value ? [value] : [], connection: { config: row.config } };
    });
  }

  async function store(provider: string, req: InboundWebhook, events: WebhookEvent[], tokenRoute: Route | undefined, secrets: readonly string[]) {
    const receivedAt = deps.clock();
    const headers = JSON.stringify(safeHeaders(req.headers, secrets));
    // One copy of the raw body per event of a batch: each tenant keeps only its own rows.
    const keys = [...new Set(events.flatMap((e) => (e.routingKey ? [e.routingKey] : [])))];
    const routes = tokenRoute ? new Map<string, Route>() : await repo.routesByKey(provider, keys);
    const byTenant = new Map<string, Array<{ e: WebhookEvent; route: Route }>>();
    const quarantined: WebhookEvent[] = [];
    for (const e of events) {
      const route = tokenRoute ?? (e.routingKey ? routes.get(e.routingKey) : undefined);
      if (!route) quarantined.push(e);
      else byTenant.set(route.tenantId, [...(byTenant.get(route.tenantId) ?? []), { e, route }]);
    }
    // The raw body is kept only where it is one owner's alone: a batch spanning several accounts
    // (tenants, or one tenant and the quarantine) would put the others' data under each row.
    const owners = byTenant.size + (quarantined.length > 0 ? 1 : 0);
    const raw = owners === 1 ? req.raw : null;
    let stored = 0;
    for (const [tenantId, items] of byTenant) {
      const rows = items.map(({ e, route }) => ({
        id: randomUUID(), tenant_id: tenantId, connection_id: route.connectionId, provider, topic: e.topic, external_id: e.externalId,
        payload: JSON.stringify(jsonbSafe(e.payload ?? null)), headers, received_at: receivedAt, effect: e.effect ?? null,
      }));
      // One round trip in the tenant's RLS context (the hot path); the same rows as `insertEvents`.
      const ids = await repo.insertEventsOneTrip(tenantId, rows.map((r) => ({ ...r, raw_body: raw })));
      count(provider, 'duplicate', rows.length - ids.length);
      stored += ids.length;
    }
    const q = await repo.insertQuarantine(quarantined.map((e) => ({
      id: randomUUID(), provider, routing_key: (e.routingKey ?? '?').slice(0, 300), topic: e.topic, external_id: e.externalId,
      payload: JSON.stringify(jsonbSafe(e.payload ?? null)), raw_body: raw, headers, received_at: receivedAt, effect: e.effect ?? null,
    })));
    count(provider, 'quarantined', q);
    // After every commit. If the process dies here, the minutely drain finds them anyway.
    if (stored > 0) kick?.();
  }

  /**
   * Acts on one stored event, once: the `webhook.received` outbox event and the adapter's effect
   * (a disconnect, a change notice), in one tenant transaction that marks it processed.
   */
  async function process(tenantId: string, id: string): Promise<'processed' | 'skipped'> {
    return tenancy.withTenant(tenantId, async (tx) => {
      const row = await repo.byId(tx, id, { lock: true });
      if (!row || row.status !== 'received') return 'skipped';
      const conn = await deps.store.byId(tx, row.connection_id);
      if (!conn) throw new Error('connection_not_found');
      const subject = { connectionId: conn.id, provider: conn.provider, label: conn.label };
      await deps.outbox.append(tx, 'webhook.received', subject, { topic: row.topic, externalId: row.external_id, inboundEventId: row.id });
      if (row.effect === 'disconnected') await deps.store.disconnect(tx, conn, { source: 'webhook', revocation: 'revoked' });
      if (row.effect === 'changed') await deps.outbox.append(tx, 'connection.changed', subject, { source: 'webhook', topic: row.topic, inboundEventId: row.id });
      const delivery = deps.onDeliveryStatus && (deps.adapterFor ?? adapterFor)({ id: row.provider }).webhooks?.deliveryStatus?.(row.topic, row.payload);
      if (delivery) await deps.onDeliveryStatus!(tx, { provider: row.provider, ...delivery });
      await repo.markProcessed(tx, row.id, deps.clock());
      return 'processed';
    });
  }

  /**
   * Records a failed attempt: retried after 5 s, 10 s, 20 s, 40 s (backoff); the 5th failure is
   * `failed` with its error (replayable). Returns whether it will be retried.
   */
  async function recordFailure(tenantId: string, id: string, err: unknown): Promise<boolean> {
    const message = (err instanceof Error ? err.message : String(err)).replace(/[^\x20-\x7e]/g, '').slice(0, 200) || 'error';
    const row = await tenancy.withTenant(tenantId, async (tx) => {
      const current = await repo.byId(tx, id, { lock: true });
      if (!current || current.status !== 'received') return undefined;
      const attempt = current.attempts + 1;
      const next = attempt >= MAX_ATTEMPTS ? null : new Date(deps.clock().getTime() + 5_000 * 2 ** (attempt - 1));
      return repo.markAttemptFailed(tx, id, message, next);
    });
    return row?.status === 'received';
  }

  /**
   * Processes every event that is due, across tenants, until none is left or `maxMs` passed. Safe
   * on every node at once: an event is processed under its row lock and only while `received`.
   */
  async function drain(opts: { maxMs?: number; batch?: number } = {}) {
    const started = Date.now();
    const stats = { processed: 0, failed: 0 };
    for (;;) {
      const due = await repo.due(deps.clock(), opts.batch ?? 200);
      if (due.length === 0) return stats;
      for (const { tenantId, id } of due) {
        try {
          if ((await process(tenantId, id)) === 'processed') stats.processed++;
        } catch (err) {
          stats.failed++;
          await recordFailure(tenantId, id, err);
        }
      }
      if (opts.maxMs !== undefined && Date.now() - started > opts.maxMs) return stats;
    }
  }

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
