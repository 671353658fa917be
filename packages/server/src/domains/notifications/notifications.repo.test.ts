import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../platform/context.js';
import { testDb, testServices } from '../../test-support/index.js';
import { recordingSql, withoutTenant } from '../../test-support/sql-record.js';
import { createNotificationsRepo } from './notifications.repo.js';

const db = testDb();
afterAll(() => db.close());

describe('notifications repo', () => {
  it('every statement on notification_log and notification_settings names tenant_id (RLS is the second guard, not the only one)', async () => {
    const services = testServices(db);
    const tenant = await services.tenants.create({ actor: systemActor }, { slug: `nrepo-${randomUUID().slice(0, 8)}`, name: 'Repo' });
    const repo = createNotificationsRepo(db.kysely);
    const now = new Date();
    const statements = await db.withTenant(tenant.id, async (raw) => {
      const { tx, statements } = recordingSql(raw);
      const id = randomUUID();
      await repo.insert(tx, { id, tenant_id: tenant.id, channel: 'email', template: 'trial_ending', recipient: 'a@b.example', sender_provider: 'resend', vars: {}, secret_vars: null, dedupe_key: null, created_at: now, next_attempt_at: now });
      await repo.page(tx, tenant.id, { limit: 10, offset: 0, status: 'PENDING', channel: 'email' });
      expect(await repo.claimable(tx, tenant.id, id, now)).toBeDefined();
      await repo.lease(tx, tenant.id, id, 1, now);
      expect(await repo.settle(tx, tenant.id, id, 1, { status: 'SENT', provider_message_id: 'm-1', sender_provider: 'resend', sent_at: now, clearSecrets: true })).toBe(true);
      await repo.markBounced(tx, tenant.id, 'resend', 'm-1');
      await repo.putSettings(tx, { tenant_id: tenant.id, email_rules: {}, chat_events: [], chat_provider: null, chat_channel: null, email_provider: null, email_from: null, updated_at: now });
      await repo.settings(tx, tenant.id);
      return statements;
    });
    expect(statements.length).toBeGreaterThanOrEqual(9);
    expect(withoutTenant(statements, ['notification_log', 'notification_settings'])).toEqual([]);
  });
});
