import { type EventPayload, EventPayloadSchemas, type EventSubject, type EventType, subjectSchemaFor } from '@keyhold/contract';
import { v7 as uuidv7 } from 'uuid';
import type { Clock } from '../../platform/clock.js';
import { type TenantTx, scopeTenantId } from '../../platform/db/tenancy.js';
import type { EventsRepo } from './events.repo.js';

/**
 * Appends an event inside the caller's tenant transaction, so it exists exactly when the change
 * it describes does. Subject and payload are checked against the contract's strict schemas first:
 * a field the schema does not list (where a secret could hide) fails the whole transaction.
 */
export function createOutbox(deps: { repo: Pick<EventsRepo, 'insert' | 'insertMany'>; clock: Clock; /** After each append: ask for a drain soon (throttled by the jobs; the minutely drain runs anyway). */ appended?: () => void }) {
  async function append<T extends EventType>(tx: TenantTx, type: T, subject: EventSubject, payload: EventPayload<T>): Promise<string> {
    const tenantId = scopeTenantId(tx);
    if (!tenantId) throw new Error('outbox events belong to a tenant');
    const checkedSubject = subjectSchemaFor(type).parse(subject);
    const checkedPayload = EventPayloadSchemas[type].parse(payload);
    // UUIDv7 from this process's real time (monotonic within the process): the id orders events
    // as they were written even when the injected clock stands still.
    const id = uuidv7();
    await deps.repo.insert(tx, { id, tenant_id: tenantId, type, subject: checkedSubject, payload: checkedPayload, created_at: deps.clock() });
    deps.appended?.();
    return id;
  }

  /** Several events in one statement (a batch of webhook events), each checked like `append`, in the order given. */
  async function appendMany(tx: TenantTx, items: OutboxItem[]): Promise<string[]> {
    if (items.length === 0) return [];
    const tenantId = scopeTenantId(tx);
    if (!tenantId) throw new Error('outbox events belong to a tenant');
    const rows = items.map((item) => ({
      id: uuidv7(), tenant_id: tenantId, type: item.type, subject: subjectSchemaFor(item.type).parse(item.subject),
      payload: EventPayloadSchemas[item.type].parse(item.payload), created_at: deps.clock(),
    }));
    await deps.repo.insertMany(tx, rows);
    deps.appended?.();
    return rows.map((r) => r.id);
  }
  return { append, appendMany };
}

/** One event for `appendMany`: its type with that type's subject and payload. */
export type OutboxItem = { [T in EventType]: { type: T; subject: EventSubject; payload: EventPayload<T> } }[EventType];
export type Outbox = ReturnType<typeof createOutbox>;
