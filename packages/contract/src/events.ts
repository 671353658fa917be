import { z } from 'zod';
import { LOW_STOCK_MODELS, StockItemIdSchema } from './commerce.js';

/**
 * Keyhold's outbox events: what happened to a tenant's objects, in the order it happened. Read by
 * `GET /api/events` and drained by workers (outbound webhooks, notifications, syncs). Every
 * payload schema is strict and its strings are names, codes or enums: an event never carries a
 * secret, and a payload with a field not listed here is refused before it is written.
 */
export const CONNECTION_STATUSES = ['active', 'needs_reauth', 'degraded', 'disabled', 'error'] as const;
export const ConnectionStatusSchema = z.enum(CONNECTION_STATUSES);
export type ConnectionStatus = z.infer<typeof ConnectionStatusSchema>;

export const EVENT_TYPES = [
  'connection.created',
  'connection.updated',
  'connection.deleted',
  'connection.needs_reauth',
  'connection.degraded',
  'connection.recovered',
  'connection.refresh_failed',
  'connection.rotated',
  'connection.disconnected',
  'connection.changed',
  'webhook.received',
  'webhook_endpoint.disabled',
  'sync.succeeded',
  'sync.failed',
  'commerce.low_stock',
  'commerce.low_stock_summary',
] as const;
export const EventTypeSchema = z.enum(EVENT_TYPES);
export type EventType = z.infer<typeof EventTypeSchema>;

/** The connection an event is about: ids and names only. */
export const ConnectionSubjectSchema = z.strictObject({
  connectionId: z.string().uuid(),
  provider: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
  label: z.string().max(63),
});
export type ConnectionSubject = z.infer<typeof ConnectionSubjectSchema>;

/** The tenant's webhook endpoint an event is about: its id and its URL's host (never the URL's path or query, never the secret). */
export const WebhookEndpointSubjectSchema = z.strictObject({
  endpointId: z.string().uuid(),
  host: z.string().regex(/^[A-Za-z0-9.:[\]-]{1,255}$/),
});
export type WebhookEndpointSubject = z.infer<typeof WebhookEndpointSubjectSchema>;
export type EventSubject = ConnectionSubject | WebhookEndpointSubject;

/** Events about a webhook endpoint name it; every other event names a connection. */
export const subjectSchemaFor = (type: EventType) => (type.startsWith('webhook_endpoint.') ? WebhookEndpointSubjectSchema : ConnectionSubjectSchema);

/** Catalog field names (never values). */
const FieldNames = z.array(z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/)).max(50);
/** A machine-readable error: an OAuth error code (`invalid_grant`) or a failure kind (`unreachable`). */
const ErrorCode = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/);
const Actor = z.strictObject({ type: z.enum(['user', 'platform_admin', 'api_key', 'system']), id: z.string().max(100).nullable() });
/** What observed the change. */
export const EventSourceSchema = z.enum(['credentials', 'oauth', 'refresh', 'proxy', 'test', 'webhook']);
export type EventSource = z.infer<typeof EventSourceSchema>;
const Revocation = z.enum(['revoked', 'not_supported', 'failed']);
/** The provider account's display name (an organisation, store or Page name): not a secret. */
const AccountName = z.string().max(200);
/**
 * Inbound webhooks: the provider's topic and event id (names, never the body). `connection.changed`
 * says the provider reported a change of the account's data (a sync should look);
 * `webhook.received` points at the stored event (`GET /api/webhooks/inbound`).
 */
const WebhookTopic = z.string().regex(/^[\x21-\x7e]{1,200}$/);
const WebhookExternalId = z.string().regex(/^[\x21-\x7e]{1,300}$/);
/**
 * Every payload: the connection's status before and after (`from` is null for a new connection,
 * `to` for a deleted one), what observed the change, and who made it when a person or key did.
 */
const base = { from: ConnectionStatusSchema.nullable(), to: ConnectionStatusSchema.nullable(), source: EventSourceSchema, by: Actor.optional() };

/**
 * `connection.updated` covers every change that is neither a status of its own nor a rotation:
 * a reconnect, a config edit, a change of where secrets are sent (`destination_changed`, which the
 * owners must hear of: it is its own `change`, not a separate type), enabling/disabling, and a
 * saved connection that failed its test.
 */
export const UPDATE_CHANGES = ['reconnected', 'config', 'destination_changed', 'enabled', 'disabled', 'verification_failed'] as const;
export type UpdateChange = (typeof UPDATE_CHANGES)[number];

/**
 * A sync run's outcome: counts and the change feed's range it wrote (`GET /api/records/:model?cursor=`
 * from `cursorFrom` reads exactly its changes). `error` is a code, never a provider's message.
 */
const SyncName = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/);
const syncRun = {
  syncRunId: z.string().uuid(), sync: SyncName, trigger: z.enum(['schedule', 'manual', 'webhook', 'reset']), mode: z.enum(['full', 'incremental']),
  added: z.number().int().min(0), updated: z.number().int().min(0), deleted: z.number().int().min(0), pages: z.number().int().min(0),
  cursorFrom: z.string().regex(/^\d{1,19}$/).nullable(), cursorTo: z.string().regex(/^\d{1,19}$/).nullable(),
};

export const EventPayloadSchemas = {
  'connection.created': z.strictObject({ ...base, account: AccountName.optional() }),
  'connection.updated': z.strictObject({ ...base, change: z.enum(UPDATE_CHANGES), fields: FieldNames.optional(), account: AccountName.optional(), error: ErrorCode.optional() }),
  'connection.deleted': z.strictObject({ ...base, revocation: Revocation }),
  'connection.needs_reauth': z.strictObject({ ...base, error: ErrorCode }),
  'connection.degraded': z.strictObject({ ...base, failures: z.number().int().min(0).optional(), error: ErrorCode.optional() }),
  'connection.recovered': z.strictObject(base),
  'connection.refresh_failed': z.strictObject({ ...base, failures: z.number().int().min(1), error: ErrorCode, nextAttemptAt: z.string().datetime() }),
  'connection.rotated': z.strictObject({ ...base, fields: FieldNames }),
  'connection.disconnected': z.strictObject({ ...base, revocation: Revocation }),
  /** One per connection for the notices stored together: the first one's topic and event, `notices` how many. */
  'connection.changed': z.strictObject({ source: z.literal('webhook'), topic: WebhookTopic, inboundEventId: z.string().uuid(), notices: z.number().int().min(1).optional() }),
  'webhook.received': z.strictObject({ topic: WebhookTopic, externalId: WebhookExternalId, inboundEventId: z.string().uuid() }),
  /** An endpoint Keyhold stopped sending to: it answered 410 Gone, or every attempt failed for 5 days. */
  'webhook_endpoint.disabled': z.strictObject({ reason: z.enum(['gone_410', 'failing_5_days']) }),
  'sync.succeeded': z.strictObject(syncRun),
  /** `failures`: failed runs of this sync of the connection since its last success, this one included. */
  'sync.failed': z.strictObject({ ...syncRun, error: ErrorCode, failures: z.number().int().min(1) }),
  /**
   * A stock item went under the tenant's low-stock threshold (told once; again only after it was
   * back at or above it). `sku` only when it is plain printable ASCII (it is the merchant's text).
   */
  'commerce.low_stock': z.strictObject({
    model: z.enum(LOW_STOCK_MODELS),
    externalId: StockItemIdSchema,
    sku: z.string().regex(/^[\x20-\x7e]{1,100}$/).nullable(),
    quantity: z.number().int(),
    threshold: z.number().int().min(0),
  }),
  /**
   * Items of one sync run that went under the threshold, told together: the connection's first
   * sync (`initial`) and a reset record them without an event each; past 100 events in one run
   * (`capped`) the rest are told here. `count`: all the run's newly low items; `told`: how many of
   * them had an event of their own; `lowest`: the lowest ones (at most 20).
   */
  'commerce.low_stock_summary': z.strictObject({
    model: z.enum(LOW_STOCK_MODELS),
    reason: z.enum(['initial', 'reset', 'capped']),
    count: z.number().int().min(1),
    told: z.number().int().min(0),
    threshold: z.number().int().min(0),
    lowest: z.array(z.strictObject({ externalId: StockItemIdSchema, sku: z.string().regex(/^[\x20-\x7e]{1,100}$/).nullable(), quantity: z.number().int() })).max(20),
  }),
} as const satisfies Record<EventType, z.ZodType>;
export type EventPayload<T extends EventType> = z.infer<(typeof EventPayloadSchemas)[T]>;

/** One event as `GET /api/events` answers it. */
export const EventSchema = z.object({
  id: z.string().uuid().describe('Time-ordered (UUIDv7)'),
  type: EventTypeSchema,
  subject: z.union([ConnectionSubjectSchema, WebhookEndpointSubjectSchema]),
  payload: z.record(z.string(), z.unknown()).describe('Per type, see the contract package (EventPayloadSchemas)'),
  createdAt: z.string(),
});
export type KeyholdEvent = z.infer<typeof EventSchema>;
