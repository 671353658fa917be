import type { EventType } from '@keyhold/contract';

/**
 * The event types an endpoint can take, for the picker. The contract's list is a value in a
 * module with zod, which the bundle leaves out; the type check below fails the build when the
 * contract gains a type this list lacks.
 */
export const EVENT_CHOICES = [
  'connection.created', 'connection.updated', 'connection.deleted', 'connection.needs_reauth', 'connection.degraded',
  'connection.recovered', 'connection.refresh_failed', 'connection.rotated', 'connection.disconnected', 'connection.changed',
  'webhook.received', 'webhook_endpoint.disabled', 'sync.succeeded', 'sync.failed', 'commerce.low_stock', 'commerce.low_stock_summary',
] as const satisfies readonly EventType[];
type Missing = Exclude<EventType, (typeof EVENT_CHOICES)[number]>;
export const everyTypeListed: [Missing] extends [never] ? true : Missing = true;

export const EVENT_FILTER_DATA = [{ value: '*', label: 'Every event (*)' }, ...EVENT_CHOICES.map((t) => ({ value: t, label: t }))];
