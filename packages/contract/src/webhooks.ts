import { z } from 'zod';

/**
 * What the webhook and notification APIs answer (the console reads these as types): outbound
 * endpoints and their deliveries, inbound provider webhooks, the notification log and settings.
 * Their fields are the guarantee that no secret is serialized (a new secret only where shown once).
 */

/** An outbound webhook endpoint as answered: never its secret. */
export const WebhookEndpointSchema = z.object({
  id: z.string().uuid(),
  url: z.string(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  signatureScheme: z.enum(['v1', 'v1a']),
  publicKey: z.string().nullable().describe('v1a: the ed25519 public key (whpk_ + base64 of 32 bytes) that verifies the signatures'),
  disabledReason: z.enum(['gone_410', 'failing_5_days']).nullable().describe('Why Keyhold stopped sending (null when enabled or disabled by a person)'),
  failingSince: z.string().nullable().describe('First failed attempt since the last success; 5 days of failures disable the endpoint'),
  previousSecretValidUntil: z.string().nullable().describe('During a rotation: until when the replaced secret also signs'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type WebhookEndpoint = z.infer<typeof WebhookEndpointSchema>;

export const WebhookSecretSchema = z.string().regex(/^whsec_[A-Za-z0-9+/=]+$/).describe('Shown once: keep it to verify signatures');
/** Creating an endpoint or rotating its secret: the new secret, shown this once. */
export const WebhookEndpointWithSecretSchema = WebhookEndpointSchema.extend({ secret: WebhookSecretSchema.optional().describe('v1 only, shown once: keep it to verify signatures') });
export type WebhookEndpointWithSecret = z.infer<typeof WebhookEndpointWithSecretSchema>;

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export const WebhookDeliverySchema = z.object({
  id: z.string().uuid().describe("Sent as webhook-id 'msg_<id>' on every attempt"),
  eventId: z.string().uuid().nullable(),
  eventType: z.string(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable(),
  lastStatus: z.number().int().nullable(),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
});
export const WebhookDeliveryAttemptSchema = z.object({
  attempt: z.number().int(),
  at: z.string(),
  status: z.number().int().nullable().describe("The endpoint's HTTP status; null when no answer came"),
  latencyMs: z.number().int(),
  error: z.string().nullable().describe('timeout, connection_refused, url_refused, http_<status>…'),
  response: z.string().nullable().describe("At most 1 KiB of the endpoint's answer"),
});
export const WebhookDeliveryWithAttemptsSchema = WebhookDeliverySchema.extend({ attemptLog: z.array(WebhookDeliveryAttemptSchema) });
export type WebhookDelivery = z.infer<typeof WebhookDeliveryWithAttemptsSchema>;

export const INBOUND_EVENT_STATUSES = ['received', 'processed', 'failed'] as const;
/** A provider's webhook as stored under the tenant (never its body or signature). */
export const InboundEventSchema = z.object({
  id: z.string().uuid(),
  connectionId: z.string().uuid(),
  provider: z.string(),
  topic: z.string(),
  externalId: z.string(),
  status: z.enum(INBOUND_EVENT_STATUSES),
  attempts: z.number().int(),
  lastError: z.string().nullable(),
  receivedAt: z.string(),
  processedAt: z.string().nullable(),
});
export type InboundEvent = z.infer<typeof InboundEventSchema>;

export const NOTIFICATION_STATUSES = ['PENDING', 'SENT', 'FAILED', 'BOUNCED'] as const;
/** What the notification log shows: no variables, no secrets; email recipients masked. */
export const NotificationSchema = z.object({
  id: z.string().uuid(),
  channel: z.enum(['email', 'chat']),
  template: z.string(),
  recipient: z.string().describe('Email addresses are masked (first character and domain)'),
  sender: z.string().describe("'platform' or the provider of the tenant's own connection"),
  status: z.enum(NOTIFICATION_STATUSES),
  providerMessageId: z.string().nullable(),
  error: z.string().nullable(),
  attempts: z.number().int(),
  createdAt: z.string(),
  sentAt: z.string().nullable(),
});
export type Notification = z.infer<typeof NotificationSchema>;
export const NotificationSettingsSchema = z.object({
  emailRules: z.record(z.string(), z.array(z.string())),
  chatEvents: z.array(z.string()),
  chat: z.object({ provider: z.string(), channel: z.string() }).nullable(),
  emailSender: z.object({ provider: z.string(), from: z.string() }).nullable(),
});
export type NotificationSettings = z.infer<typeof NotificationSettingsSchema>;
