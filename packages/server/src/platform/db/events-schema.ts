import type { ColumnType, JSONColumnType } from 'kysely';

/** Kysely's view of the outbox, its queue, inbound provider webhooks and outbound webhook endpoints (migrations 0017, 0021, 0025, 0047). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type EventsTable = {
  id: string;
  tenant_id: string;
  type: string;
  subject: JSONColumnType<Record<string, unknown>, string, never>;
  payload: JSONColumnType<Record<string, unknown>, string, never>;
  created_at: Timestamp;
};

/** Events not yet handed to the consumers (migration 0047): made by a trigger on `events`, deleted by the drain. */
export type EventQueueTable = {
  tenant_id: string;
  id: string;
};

export const INBOUND_STATUSES = ['received', 'processed', 'failed'] as const;
export type InboundStatus = (typeof INBOUND_STATUSES)[number];

/** What a stored provider event keeps, whether under its tenant or in the platform quarantine. */
type StoredProviderEvent = {
  id: string;
  provider: string;
  topic: string;
  external_id: string;
  payload: JSONColumnType<object | null, string, string>;
  raw_body: Buffer | null;
  headers: JSONColumnType<Record<string, string>, string, string>;
  received_at: Timestamp;
  effect: 'disconnected' | 'changed' | null;
};

export type InboundEventsTable = StoredProviderEvent & {
  tenant_id: string;
  connection_id: string;
  status: ColumnType<InboundStatus, InboundStatus | undefined, InboundStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  last_error: string | null;
  processed_at: Timestamp | null;
  next_attempt_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
};

export type InboundQuarantineTable = StoredProviderEvent & {
  routing_key: string;
};

export type WebhookEndpointDisabledReason = 'gone_410' | 'failing_5_days';

export type WebhookEndpointsTable = {
  id: string;
  tenant_id: string;
  url: string;
  description: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: WebhookEndpointDisabledReason | null;
  signature_scheme: ColumnType<'v1' | 'v1a', 'v1' | 'v1a' | undefined, 'v1' | 'v1a'>;
  public_key: string | null;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: Timestamp | null;
  failing_since: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
};

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export type WebhookDeliveriesTable = {
  id: string;
  tenant_id: string;
  endpoint_id: string;
  event_id: string | null;
  event_type: string;
  body: string | null;
  status: ColumnType<WebhookDeliveryStatus, WebhookDeliveryStatus | undefined, WebhookDeliveryStatus>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp | null;
  last_status: number | null;
  last_error: string | null;
  created_at: Timestamp;
  finished_at: Timestamp | null;
};

export type WebhookDeliveryAttemptsTable = {
  id: string;
  tenant_id: string;
  delivery_id: string;
  attempt: number;
  attempted_at: Timestamp;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
  response: string | null;
};
