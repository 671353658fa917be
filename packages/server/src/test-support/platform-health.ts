import { randomBytes } from 'node:crypto';
import { systemActor } from '../platform/context.js';
import { type Account, bearer, signup } from './accounts.js';
import { credentialsFor } from './credentials.js';
import type { TestApp } from './index.js';
import { adminQuery } from './oauth.js';

let runSeq = 0;
/** Time-ordered ids, as the engine's UUIDv7 run ids are (the latest run is the greatest id). */
const runId = () => `00000000-0000-7000-8000-${(++runSeq).toString(16).padStart(12, '0')}`;

async function connect(t: TestApp, acct: Account, provider: string, label = 'default') {
  const res = await t.app.inject({ method: 'POST', url: '/api/api-credentials?verify=false', headers: bearer(acct.accessToken), payload: { serviceName: provider, label, ...credentialsFor(provider).body } });
  if (res.statusCode !== 201) throw new Error(res.body);
  return res.json().data.id as string;
}

/**
 * Three organizations on a scratch database with what the health page counts, each fact set the
 * way the owner role would see it (past RLS): statuses, token expiries, sync runs, quarantined
 * webhooks. Returns the accounts and the figures a correct page shows.
 */
export async function seedHealth(t: TestApp, adminUrl: string) {
  const now = t.clock().getTime();
  const q = (text: string, params: unknown[] = []) => adminQuery(adminUrl, text, params);
  const run = (tenantId: string, connectionId: string, sync: string, status: string) =>
    q(`insert into sync_runs (id, tenant_id, connection_id, sync, trigger, mode, status, started_at, lease_until, finished_at)
       values ($1, $2, $3, $4, 'schedule', 'full', $5, now(), now(), case when $5 = 'running' then null else now() end)`, [runId(), tenantId, connectionId, sync, status]);

  const a = await signup(t.app);
  const aStripe = await connect(t, a, 'stripe');
  const aOpenai = await connect(t, a, 'openai');
  const aResend = await connect(t, a, 'resend');
  const aAnthropic = await connect(t, a, 'anthropic');
  await t.db.withTenant(a.tenantId, async (tx) => {
    const conn = (await t.services.store.byId(tx, aOpenai))!;
    await t.services.store.transition(tx, conn, 'needs_reauth', { reason: 'needs_reauth', detail: { source: 'refresh', error: 'invalid_grant' } });
  });
  await q('update connections set token_expires_at = $1 where id = $2', [new Date(now - 10 * 60_000), aResend]);
  await q('update connections set token_expires_at = $1 where id = $2', [new Date(now + 20 * 60_000), aAnthropic]);
  await run(a.tenantId, aStripe, 'charges', 'failed');
  await run(a.tenantId, aStripe, 'charges', 'succeeded');
  await run(a.tenantId, aOpenai, 'models', 'succeeded');
  await run(a.tenantId, aOpenai, 'models', 'failed');
  await run(a.tenantId, aOpenai, 'models', 'running');

  const b = await signup(t.app);
  const bStripe = await connect(t, b, 'stripe');
  await q(`update connections set status = 'degraded' where id = $1`, [bStripe]);
  await run(b.tenantId, bStripe, 'charges', 'failed');
  await t.services.tenants.setStatus({ actor: systemActor }, b.tenantId, 'suspended', 'unpaid invoices');

  // A cancelled organization's problems are nobody's to fix: they do not count.
  const c = await signup(t.app);
  const cStripe = await connect(t, c, 'stripe');
  await q(`update connections set status = 'needs_reauth', token_expires_at = $1 where id = $2`, [new Date(now - 60_000), cStripe]);
  await run(c.tenantId, cStripe, 'charges', 'failed');
  await t.services.tenants.setStatus({ actor: systemActor }, c.tenantId, 'cancelled');

  for (let i = 0; i < 3; i++) {
    await q(`insert into inbound_quarantine (id, provider, routing_key, topic, external_id, payload, received_at) values (gen_random_uuid(), 'shopify', $1, 'orders/create', $2, '{}', now())`,
      [`unknown-${randomBytes(4).toString('hex')}.myshopify.com`, `evt-${i}-${randomBytes(4).toString('hex')}`]);
  }
  return {
    a, b, c,
    expected: {
      tenants: { trial: 1, suspended: 1 },
      connections: { total: 5, byStatus: { active: 3, needs_reauth: 1, degraded: 1 } },
      needsReauth: 1,
      tokens: { expired: 1, expiringSoon: 1 },
      failingSyncs: 2,
      webhookQuarantine: 3,
      attention: [
        { tenantId: a.tenantId, needsReauth: 1, tokensExpired: 1, failingSyncs: 1 },
        { tenantId: b.tenantId, needsReauth: 0, tokensExpired: 0, failingSyncs: 1 },
      ],
    },
  };
}
