import type { KeyholdEvent } from '@keyhold/contract';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../../platform/clock.js';
import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import type { EventConsumer } from '../events/events.service.js';
import type { WebhookEndpointsRepo } from './webhook-endpoints.repo.js';

/** The body every attempt of a delivery sends and signs (Standard Webhooks' `type`, `timestamp`, `data`). */
export const eventBody = (e: KeyholdEvent) =>
  JSON.stringify({ type: e.type, timestamp: e.createdAt, data: { eventId: e.id, subject: e.subject, payload: e.payload } });

/**
 * The outbox drain's consumer: one delivery row per (event, enabled endpoint whose filter takes
 * the event), written in the drain's tenant transaction, so a delivery exists exactly when its
 * event counts as handed over. No network here: the sender does the I/O after commit, asked for
 * (`queued`) only once the drain's transaction committed, so it finds the rows.
 */
export function createDeliveryConsumer(deps: { repo: Pick<WebhookEndpointsRepo, 'enabledEndpoints' | 'insertDeliveries'>; clock: Clock; queued?: () => void }): EventConsumer {
  return async (tx: TenantTx, events: KeyholdEvent[], afterCommit) => {
    const tenantId = scopeTenantId(tx)!;
    const endpoints = await deps.repo.enabledEndpoints(tx, tenantId);
    if (endpoints.length === 0) return;
    const now = deps.clock();
    const rows = events.flatMap((e) => {
      const body = eventBody(e);
      return endpoints
        .filter((ep) => ep.event_types.includes('*') || ep.event_types.includes(e.type))
        .map((ep) => ({ id: uuidv7(), tenant_id: tenantId, endpoint_id: ep.id, event_id: e.id, event_type: e.type, body, next_attempt_at: now, created_at: now }));
    });
    await deps.repo.insertDeliveries(tx, rows);
    if (rows.length > 0 && deps.queued) afterCommit(deps.queued);
  };
}
