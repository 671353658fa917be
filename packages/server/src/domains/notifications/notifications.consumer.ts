import type { KeyholdEvent } from '@keyhold/contract';
import type { UserRole } from '../../platform/db/schema.js';
import type { TenantTx } from '../../platform/db/tenancy.js';
import type { EventConsumer } from '../events/events.service.js';
import type { NotificationsService } from './notifications.service.js';
import type { TemplateName } from './templates.js';

/**
 * Outbox event types people hear about, and their message. A failed sync is told only once it
 * failed `SYNC_FAILURES_TOLD` times in a row (one failure is usually a provider's bad minute).
 */
const NOTIFIED: Readonly<Record<string, TemplateName>> = {
  'connection.needs_reauth': 'connection_needs_reauth',
  'connection.refresh_failed': 'connection_refresh_failed',
  'webhook_endpoint.disabled': 'webhook_endpoint_disabled',
  'sync.failed': 'sync_failing',
};
const SYNC_FAILURES_TOLD = 3;
/** Connection problems are told once per connection, recipient and (UTC) day: quiet duplicates. */
const ONCE_A_DAY = new Set(['connection.needs_reauth', 'connection.refresh_failed', 'sync.failed']);
const DEFAULT_ROLES: readonly UserRole[] = ['owner'];

export type NotificationConsumerDeps = {
  notifications: Pick<NotificationsService, 'enqueue' | 'settingsIn'>;
  people: {
    emailsOf(tx: TenantTx, roles: readonly UserRole[]): Promise<string[]>;
    organization(tx: TenantTx): Promise<string>;
  };
  /** Called once the drain that queued messages committed: ask the sender to run now. */
  queued?: () => void;
  /** A provider's display name (`provider` id from the event subject). */
  providerName(id: string): string;
  /** Where Keyhold's admin console is (links in messages). */
  publicUrl: string;
};

const str = (v: unknown, fallback = '') => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : fallback);

/** The template's values for one event: names, codes and links only (events never carry secrets). */
function varsOf(e: KeyholdEvent, deps: NotificationConsumerDeps, organization: string): Record<string, string> {
  const s = e.subject as Record<string, unknown>;
  const p = e.payload;
  const provider = str(s.provider);
  return {
    organization,
    provider: provider ? deps.providerName(provider) : '',
    label: str(s.label, 'default'),
    reason: str(p.error ?? p.reason, 'no reason given'),
    failures: str(p.failures, '1'),
    nextAttemptAt: str(p.nextAttemptAt, 'later'),
    host: str(s.host ?? s.urlHost ?? s.url_host, 'your endpoint'),
    actionUrl: e.type.startsWith('webhook_endpoint.') ? `${deps.publicUrl}/admin/webhook-endpoints` : `${deps.publicUrl}/admin/integrations?provider=${encodeURIComponent(provider)}`,
  };
}

/**
 * Turns drained outbox events into PENDING messages, inside the drain's tenant transaction (no
 * network here: the sender job sends them). Email goes to the roles the tenant's settings name
 * for the event type (owners by default); chat to the tenant's alert channel when the type is
 * listed there.
 */
export function createNotificationConsumer(deps: NotificationConsumerDeps): EventConsumer {
  return async (tx, events, afterCommit) => {
    const relevant = events.filter((e) => NOTIFIED[e.type] !== undefined && (e.type !== 'sync.failed' || Number(e.payload.failures) >= SYNC_FAILURES_TOLD));
    if (relevant.length === 0) return;
    // After the commit, or the sender could run first and find nothing (then wait for the minute).
    if (deps.queued) afterCommit?.(deps.queued);
    const settings = await deps.notifications.settingsIn(tx);
    const organization = await deps.people.organization(tx);
    for (const e of relevant) {
      const template = NOTIFIED[e.type]!;
      const vars = varsOf(e, deps, organization);
      const subjectId = str((e.subject as Record<string, unknown>).connectionId ?? (e.subject as Record<string, unknown>).endpointId ?? (e.subject as Record<string, unknown>).id, e.id);
      const key = ONCE_A_DAY.has(e.type) ? `${e.type}:${subjectId}:${e.createdAt.slice(0, 10)}` : `${e.type}:${e.id}`;
      const roles = settings.emailRules[e.type] ?? DEFAULT_ROLES;
      for (const to of await deps.people.emailsOf(tx, roles)) {
        await deps.notifications.enqueue(tx, { channel: 'email', template, recipient: to, vars, dedupeKey: `${key}:${to}`, senderProvider: settings.emailSender?.provider ?? null });
      }
      if (settings.chat && settings.chatEvents.includes(e.type)) {
        await deps.notifications.enqueue(tx, { channel: 'chat', template, recipient: settings.chat.channel, vars, dedupeKey: `${key}:chat`, senderProvider: settings.chat.provider });
      }
    }
  };
}
