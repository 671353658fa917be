import { randomBytes, randomUUID } from 'node:crypto';
import { type Sandbox, createSandbox, resendDelivery } from '@keyhold/sandbox';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../platform/crypto/secret.js';
import { type Account, addMember, bearer, signup } from '../../test-support/accounts.js';
import { credentialsFor } from '../../test-support/credentials.js';
import { type TestApp, appClient, migratedScratch, testApp } from '../../test-support/index.js';
import { callbackWith, consentAt, oauthOptions, startConnect } from '../../test-support/oauth.js';
import { createEventsRepo } from '../events/events.repo.js';
import { createOutbox } from '../events/outbox.js';

/**
 * Notifications on their own database (the sender and the drain work across tenants): outbox
 * events become messages, sent through the sandbox's Resend (platform or tenant sender) and Slack.
 */
const PLATFORM_KEY = `re_platform_${randomBytes(12).toString('hex')}`;
let sandbox: Sandbox;
let scratch: Awaited<ReturnType<typeof migratedScratch>>;
let t: TestApp;
let outbox: ReturnType<typeof createOutbox>;

beforeAll(async () => {
  sandbox = await createSandbox();
  sandbox.seed('resend', { apiKey: PLATFORM_KEY });
  sandbox.limits.configure('resend', { windows: [{ name: 'second', limit: 1000, windowMs: 1000 }] });
  scratch = await migratedScratch();
  t = await testApp({ ...oauthOptions(sandbox), db: scratch.db, email: { provider: 'resend', apiKey: new Secret(PLATFORM_KEY), from: 'Keyhold <no-reply@keyhold.test>', baseUrl: sandbox.baseUrlFor('resend') } });
  outbox = createOutbox({ repo: createEventsRepo(scratch.db.kysely), clock: t.clock });
});
afterAll(async () => {
  await t?.close();
  await sandbox?.close();
  await scratch?.drop();
});
beforeEach(() => sandbox.heal('resend'));

const needsReauth = (tenantId: string, connectionId: string, provider = 'xero') =>
  scratch.db.withTenant(tenantId, (tx) => outbox.append(tx, 'connection.needs_reauth', { connectionId, provider, label: 'default' }, { from: 'active', to: 'needs_reauth', source: 'refresh', error: 'invalid_grant' }));
/** The drain hands events to the consumer; the sender job sends what is due. */
const run = async () => {
  await t.services.events.drain();
  await t.services.notifications.sendDue();
  await t.services.notifications.idle();
};
const list = async (acct: Account) => (await t.app.inject({ method: 'GET', url: '/api/notifications?limit=100', headers: bearer(acct.accessToken) })).json();
const putSettings = (acct: Account, body: object) => t.app.inject({ method: 'PUT', url: '/api/notifications/settings', headers: bearer(acct.accessToken), payload: body });
const reauthMails = (to: string) => sandbox.captures.inbox(to).filter((m) => m.subject.startsWith('Reconnect'));

describe('connection needs re-authorisation', () => {
  it("emails the tenant's owners (not other roles, by default) once per connection and day", async () => {
    const owner = await signup(t.app);
    await addMember(t.app, owner, 'admin');
    const conn = randomUUID();
    await needsReauth(owner.tenantId, conn);
    await run();
    const [mail, ...more] = reauthMails(owner.email);
    expect(more).toHaveLength(0);
    expect(mail).toMatchObject({ from: 'Keyhold <no-reply@keyhold.test>', apiKey: PLATFORM_KEY, subject: 'Reconnect Xero (default) in Keyhold' });
    expect(mail!.text).toContain('invalid_grant');
    expect(mail!.text).toContain('http://keyhold.test/admin/integrations?provider=xero');
    const rows = (await list(owner)).data;
    expect(rows).toEqual([expect.objectContaining({ channel: 'email', template: 'connection_needs_reauth', status: 'SENT', sender: 'platform', providerMessageId: mail!.id })]);
    expect(rows[0].recipient).toBe(`${owner.email[0]}…@example.com`);

    // The same connection again the same day: quiet. Another connection: told. The next day: told again.
    await needsReauth(owner.tenantId, conn);
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    expect(reauthMails(owner.email)).toHaveLength(2);
    t.clock.advance(86_400_000);
    await needsReauth(owner.tenantId, conn);
    await run();
    expect(reauthMails(owner.email)).toHaveLength(3);
  });

  it('the drain asks the sender to run once its transaction committed, not at the next minute', async () => {
    const owner = await signup(t.app);
    await needsReauth(owner.tenantId, randomUUID());
    const seen: number[] = [];
    t.services.notifications.useKick(() => {
      // Asked after the commit: another connection already sees the queued message.
      void scratch.db.withTenant(owner.tenantId, (tx) => tx.selectFrom('notification_log').select('id').execute()).then((r) => seen.push(r.length));
    });
    try {
      await t.services.events.drain();
      await vi.waitFor(() => expect(seen).toEqual([1]));
    } finally {
      t.services.notifications.useKick(() => undefined);
    }
  });

  it('a sync that failed 3 times in a row is told once that day; fewer failures are not told', async () => {
    const owner = await signup(t.app);
    const conn = randomUUID();
    const failed = (failures: number) => scratch.db.withTenant(owner.tenantId, (tx) => outbox.append(tx, 'sync.failed', { connectionId: conn, provider: 'shopify', label: 'main' }, {
      syncRunId: randomUUID(), sync: 'orders', trigger: 'schedule', mode: 'incremental', added: 0, updated: 0, deleted: 0, pages: 1, cursorFrom: null, cursorTo: null, error: 'http_503', failures,
    }));
    const syncMails = () => sandbox.captures.inbox(owner.email).filter((m) => m.subject.includes('keeps failing'));
    await failed(1);
    await failed(2);
    await run();
    expect(syncMails()).toHaveLength(0);
    await failed(3);
    await failed(4);
    await run();
    expect(syncMails()).toHaveLength(1);
    expect(syncMails()[0]!.text).toContain('has failed 3 times in a row (http_503)');
  });

  it('settings choose who hears of an event type: admins too, or nobody', async () => {
    const owner = await signup(t.app);
    const admin = (await t.app.inject({ method: 'POST', url: '/api/users', headers: bearer(owner.accessToken), payload: { email: `adm-${randomBytes(3).toString('hex')}@example.com`, role: 'admin', method: 'temporary_password' } })).json().data.user;
    expect((await putSettings(owner, { emailRules: { 'connection.needs_reauth': ['owner', 'admin'] } })).statusCode).toBe(200);
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    expect(reauthMails(owner.email)).toHaveLength(1);
    expect(reauthMails(admin.email)).toHaveLength(1);
    await putSettings(owner, { emailRules: { 'connection.needs_reauth': [] } });
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    expect(reauthMails(owner.email)).toHaveLength(1);
  });

  it('a failed send is retried with backoff and the same idempotency key; a 4xx refusal is final', async () => {
    const owner = await signup(t.app);
    sandbox.fail('resend', { status: 500, path: '/emails', times: 1 });
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    expect((await list(owner)).data[0]).toMatchObject({ status: 'PENDING', attempts: 1, error: 'http_500' });
    await t.services.notifications.sendDue();
    expect(reauthMails(owner.email)).toHaveLength(0); // not due yet
    t.clock.advance(31_000);
    await t.services.notifications.sendDue();
    const row = (await list(owner)).data[0];
    expect(row).toMatchObject({ status: 'SENT', attempts: 2 });
    // Both attempts carried the message's one idempotency key (the failed one was answered before its body was read).
    const tries = sandbox.requests().filter((r) => r.provider === 'resend' && r.path === '/emails' && r.headers['idempotency-key'] === `keyhold-notification-${row.id}`);
    expect(tries.map((r) => r.status)).toEqual([500, 200]);

    sandbox.fail('resend', { status: 422, path: '/emails', times: 1 });
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    expect((await list(owner)).data[0]).toMatchObject({ status: 'FAILED', attempts: 1, error: 'http_422' });
  });
});

describe('the sender across nodes', () => {
  it('senders running at once send each message once', async () => {
    const owner = await signup(t.app);
    for (let i = 0; i < 20; i++) await needsReauth(owner.tenantId, randomUUID());
    await t.services.events.drain();
    await Promise.all([1, 2, 3, 4].map(() => t.services.notifications.sendDue()));
    const mails = reauthMails(owner.email);
    expect(mails).toHaveLength(20);
    expect(new Set(mails.map((m) => m.idempotencyKey)).size).toBe(20);
  });

  it('a message whose sender died after claiming it is sent once its lease runs out, with the same idempotency key', async () => {
    const owner = await signup(t.app);
    await needsReauth(owner.tenantId, randomUUID());
    await t.services.events.drain();
    // What a sender that crashed right after its claim leaves: one attempt counted, a 2-minute lease.
    await scratch.db.withTenant(owner.tenantId, (tx) => tx.updateTable('notification_log').set({ attempts: 1, next_attempt_at: new Date(t.clock().getTime() + 120_000) }).execute());
    await t.services.notifications.sendDue();
    expect(reauthMails(owner.email)).toHaveLength(0);
    t.clock.advance(121_000);
    await t.services.notifications.sendDue();
    const row = (await list(owner)).data[0];
    expect(row).toMatchObject({ status: 'SENT', attempts: 2 });
    expect(reauthMails(owner.email)).toEqual([expect.objectContaining({ idempotencyKey: `keyhold-notification-${row.id}` })]);
  });
});

describe("the tenant's own senders", () => {
  it("sends through the tenant's own Resend connection (its key, its from-address, the proxy path)", async () => {
    const owner = await signup(t.app);
    const { body, seed } = credentialsFor('resend');
    sandbox.seed('resend', seed);
    expect((await t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(owner.accessToken), payload: { serviceName: 'resend', ...body } })).statusCode).toBe(201);
    const put = await putSettings(owner, { emailSender: { provider: 'resend', from: 'Acme Alerts <alerts@acme.example>' } });
    expect(put.json().data.emailSender).toEqual({ provider: 'resend', from: 'Acme Alerts <alerts@acme.example>' });
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    expect(reauthMails(owner.email)).toEqual([expect.objectContaining({ from: 'Acme Alerts <alerts@acme.example>', apiKey: seed.apiKey })]);
    expect((await list(owner)).data[0]).toMatchObject({ sender: 'resend', status: 'SENT' });
  });

  it("refuses a sender or chat provider that cannot send that kind of message", async () => {
    const owner = await signup(t.app);
    expect((await putSettings(owner, { emailSender: { provider: 'stripe', from: 'a@b.example' } })).json().code).toBe('VALIDATION_FAILED');
    expect((await putSettings(owner, { chat: { provider: 'resend', channel: 'C1' } })).json().code).toBe('VALIDATION_FAILED');
  });

  it("posts alerts to the tenant's Slack channel with its bot token through the proxy", async () => {
    const owner = await signup(t.app);
    const started = await startConnect(t.app, owner, 'slack');
    expect((await callbackWith(t.app, await consentAt(started, { sandbox_account: `ws-${randomUUID()}` }), started.cookie)).statusCode).toBe(302);
    const channel = `C${randomBytes(4).toString('hex').toUpperCase()}`;
    expect((await putSettings(owner, { chat: { provider: 'slack', channel }, chatEvents: ['connection.needs_reauth'] })).statusCode).toBe(200);
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    const posts = sandbox.captures.posts(channel);
    expect(posts).toHaveLength(1);
    expect(posts[0]!.text).toContain('Reconnect Xero (default) in Keyhold');
    expect(posts[0]!.token).not.toBe('');
    const rows = (await list(owner)).data;
    expect(rows.find((r: { channel: string }) => r.channel === 'chat')).toMatchObject({ recipient: channel, sender: 'slack', status: 'SENT', providerMessageId: posts[0]!.ts });
    // The email went too (owners by default).
    expect(reauthMails(owner.email)).toHaveLength(1);
  });
});

/** The tenant's own Resend connection with its webhook signing secret (for bounce deliveries). */
async function connectResendWithWebhooks(owner: Account) {
  const { body, seed } = credentialsFor('resend');
  sandbox.seed('resend', seed);
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const saved = await t.app.inject({ method: 'POST', url: '/api/api-credentials', headers: bearer(owner.accessToken), payload: { serviceName: 'resend', ...body, additionalConfig: { webhookSecret: secret } } });
  expect(saved.statusCode, saved.body).toBe(201);
  return { secret, saved, seed };
}

describe("Resend's delivery webhooks", () => {
  it('an email.bounced delivery marks the sent email BOUNCED', async () => {
    const owner = await signup(t.app);
    const { secret, saved } = await connectResendWithWebhooks(owner);
    await putSettings(owner, { emailSender: { provider: 'resend', from: 'alerts@acme.example' } });
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    const mail = reauthMails(owner.email)[0]!;
    const delivery = resendDelivery({ secret, id: `msg_${randomUUID()}`, event: { type: 'email.bounced', data: { email_id: mail.id } }, at: t.clock() });
    const res = await t.app.inject({ method: 'POST', url: new URL(saved.json().data.webhook_url).pathname, headers: delivery.headers, payload: delivery.body });
    expect(res.statusCode, res.body).toBe(200);
    await t.services.inboundWebhooks.drain();
    expect((await list(owner)).data[0]).toMatchObject({ status: 'BOUNCED', providerMessageId: mail.id });
  });
});

describe("Resend's delivery webhooks: only the sender's own mail", () => {
  it("a tenant's own webhook cannot mark mail the platform's sender sent BOUNCED (nor mail queued for its sender but sent by the platform's)", async () => {
    const owner = await signup(t.app);
    const { secret, saved, seed } = await connectResendWithWebhooks(owner);
    const bounce = async (emailId: string) => {
      const delivery = resendDelivery({ secret, id: `msg_${randomUUID()}`, event: { type: 'email.bounced', data: { email_id: emailId } }, at: t.clock() });
      const res = await t.app.inject({ method: 'POST', url: new URL(saved.json().data.webhook_url).pathname, headers: delivery.headers, payload: delivery.body });
      expect(res.statusCode, res.body).toBe(200);
      await t.services.inboundWebhooks.drain();
    };
    // 1: sent by the platform's sender (no sender of the tenant's own yet).
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    const platformMail = reauthMails(owner.email)[0]!;
    expect(platformMail.apiKey).toBe(PLATFORM_KEY);
    // 2: queued while the tenant's sender was chosen, sent after it was dropped: the platform's sender sent it.
    await putSettings(owner, { emailSender: { provider: 'resend', from: 'alerts@acme.example' } });
    await needsReauth(owner.tenantId, randomUUID());
    await t.services.events.drain();
    await putSettings(owner, { emailSender: null });
    await t.services.notifications.sendDue();
    const fallbackMail = reauthMails(owner.email)[1]!;
    expect(fallbackMail.apiKey).toBe(PLATFORM_KEY);
    // 3: sent by the tenant's own Resend connection.
    await putSettings(owner, { emailSender: { provider: 'resend', from: 'alerts@acme.example' } });
    await needsReauth(owner.tenantId, randomUUID());
    await run();
    const ownMail = reauthMails(owner.email)[2]!;
    expect(ownMail.apiKey).toBe(seed.apiKey);

    await bounce(platformMail.id);
    await bounce(fallbackMail.id);
    await bounce(ownMail.id);
    const byId = new Map((await list(owner)).data.map((r: { providerMessageId: string }) => [r.providerMessageId, r]));
    expect(byId.get(platformMail.id)).toMatchObject({ status: 'SENT', sender: 'platform' });
    expect(byId.get(fallbackMail.id)).toMatchObject({ status: 'SENT', sender: 'platform' });
    expect(byId.get(ownMail.id)).toMatchObject({ status: 'BOUNCED', sender: 'resend' });
  });
});

describe('isolation and secrets', () => {
  it("tenant A never sees B's notification log; the app role without a tenant sees none", async () => {
    const a = await signup(t.app);
    const b = await signup(t.app);
    await needsReauth(a.tenantId, randomUUID());
    await needsReauth(b.tenantId, randomUUID());
    await run();
    const seenByA = (await list(a)).data as Array<{ recipient: string }>;
    expect(seenByA).toHaveLength(1);
    expect(seenByA[0]!.recipient).toBe(`${a.email[0]}…@example.com`);
    expect((await list(b)).data).toHaveLength(1);
    const c = await appClient();
    try {
      expect((await c.query('select count(*)::int as n from notification_log')).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
    // Members cannot read it.
    const member = await addMember(t.app, a, 'member');
    expect((await t.app.inject({ method: 'GET', url: '/api/notifications', headers: bearer(member) })).statusCode).toBe(403);
  });

  it('no API key or bot token in any log line, notification row or email', async () => {
    const text = t.logs.text();
    const emails = JSON.stringify(sandbox.captures.inbox().map(({ apiKey: _, ...m }) => m));
    const secrets = [PLATFORM_KEY, ...sandbox.captures.inbox().map((m) => m.apiKey), ...sandbox.captures.posts().map((p) => p.token)].filter(Boolean);
    expect(secrets.length).toBeGreaterThan(2);
    const owner = new pg.Client({ connectionString: scratch.adminUrl });
    await owner.connect();
    let rows: string;
    try {
      rows = JSON.stringify((await owner.query('select row_to_json(n)::text as j from notification_log n')).rows);
      expect((await owner.query('select count(*)::int as n from notification_log')).rows[0].n).toBeGreaterThan(5);
    } finally {
      await owner.end();
    }
    for (const s of secrets) {
      expect(text).not.toContain(s);
      expect(emails).not.toContain(s);
      expect(rows).not.toContain(s);
    }
  });
});

describe('trial reminders', () => {
  it("emails the owners once when the trial ends within 3 days", async () => {
    const owner = await signup(t.app);
    const ends = new Date(t.clock().getTime() + 2.5 * 86_400_000);
    await scratch.db.withTenant(owner.tenantId, (tx) => tx.updateTable('tenants').set({ status: 'trial', trial_ends_at: ends }).execute());
    await t.services.notifications.notifyTrialsEnding();
    await t.services.notifications.notifyTrialsEnding();
    await t.services.notifications.idle();
    const mails = sandbox.captures.inbox(owner.email).filter((m) => m.subject.startsWith('Your Keyhold trial ends'));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toBe(`Your Keyhold trial ends on ${ends.toISOString().slice(0, 10)}`);
  });
});
