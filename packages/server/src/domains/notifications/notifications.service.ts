import { randomUUID } from 'node:crypto';
import { paginate } from '@keyhold/contract';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { NotificationStatus } from '../../platform/db/notifications-schema.js';
import type { UserRole } from '../../platform/db/schema.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { scopeTenantId } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { Logger } from '../../platform/logger.js';
import type { ProviderAdapter } from '../../providers/adapter.js';
import { type TenantPrincipal, assertRole } from '../identity/principal.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Vault } from '../vault/vault.service.js';
import type { NotificationRow, NotificationsRepo } from './notifications.repo.js';
import { type TemplateName, render } from './templates.js';
import type { SendOutcome, Transports } from './transports.js';

/** Retries after 30 s, 2 min, 8 min, 32 min; the 5th failure is final. A provider's rate limit is waited out (up to 20 tries). */
export const MAX_ATTEMPTS = 5;
const MAX_RATE_LIMITED_ATTEMPTS = 20;
const retryDelayMs = (attempt: number) => 30_000 * 4 ** (attempt - 1);
/** While one sender holds a message, others skip it; a sender that died lets it go when this runs out. */
const LEASE_MS = 120_000;
const SECRET_PURPOSE = 'notification.secret_vars';

const ROLE = z.enum(['owner', 'admin', 'member', 'viewer']);
const EVENT_NAME = z.string().regex(/^[a-z_]+(\.[a-z_]+)+$/).max(64);
export const SettingsInput = z.strictObject({
  /** Event type → roles whose active users get an email ([]: nobody). Unlisted types: owners. */
  emailRules: z.record(EVENT_NAME, z.array(ROLE).max(4)).default({}),
  chatEvents: z.array(EVENT_NAME).max(20).default([]),
  chat: z.strictObject({ provider: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/), channel: z.string().regex(/^[#A-Za-z0-9_.-]{1,80}$/) }).nullable().default(null),
  /** The tenant's own email connection as sender, with its (verified) from-address. */
  emailSender: z.strictObject({ provider: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/), from: z.string().trim().min(3).max(254) }).nullable().default(null),
});
export type NotificationSettings = z.output<typeof SettingsInput>;
export const DEFAULT_SETTINGS: NotificationSettings = { emailRules: {}, chatEvents: [], chat: null, emailSender: null };

export type NotificationsDeps = {
  repo: NotificationsRepo;
  tenancy: Tenancy;
  vault: Pick<Vault, 'encrypt' | 'decrypt'>;
  audit: Pick<AuditService, 'record'>;
  transports: Transports;
  adapterFor: (provider: { id: string }) => ProviderAdapter;
  /** The tenant's people and name, read in its transaction (identity and tenants own those tables). */
  people: {
    emailsOf(tx: TenantTx, roles: readonly UserRole[]): Promise<string[]>;
    organization(tx: TenantTx): Promise<string>;
  };
  publicUrl: string;
  clock: Clock;
  log?: Pick<Logger, 'warn' | 'info'>;
};

/** An email address as lists show it: first character and domain (`j…@example.com`). */
export const maskEmail = (v: string) => (v.includes('@') ? `${v[0]}…@${v.split('@').pop()}` : v);

export type EnqueueInput = {
  channel: 'email' | 'chat';
  template: TemplateName;
  recipient: string;
  vars: Record<string, string>;
  /** Values that are secrets (a link's token): encrypted at rest, dropped once sent or failed. */
  secretVars?: Record<string, string>;
  dedupeKey?: string;
  senderProvider?: string | null;
};

export function createNotificationsService(deps: NotificationsDeps) {
  const { repo, tenancy, clock } = deps;
  const inFlight = new Set<Promise<unknown>>();

  /** Writes a PENDING message in the caller's tenant transaction; null when its dedupe key was taken. */
  /** Asks the sender job to run soon (set by the jobs; nothing until then). */
  let kick: () => void = () => undefined;

  async function enqueue(tx: TenantTx, input: EnqueueInput): Promise<string | null> {
    const tenantId = scopeTenantId(tx)!;
    const id = randomUUID();
    const secret = input.secretVars ? await deps.vault.encrypt(tx, SECRET_PURPOSE, id, JSON.stringify(input.secretVars)) : null;
    const now = clock();
    return repo.insert(tx, {
      id, tenant_id: tenantId, channel: input.channel, template: input.template, recipient: input.recipient,
      sender_provider: input.senderProvider ?? null, vars: input.vars, secret_vars: secret, dedupe_key: input.dedupeKey ?? null,
      created_at: now, next_attempt_at: now,
    });
  }

  async function settingsIn(tx: TenantTx): Promise<NotificationSettings> {
    const row = await repo.settings(tx, scopeTenantId(tx)!);
    if (!row) return DEFAULT_SETTINGS;
    return {
      emailRules: row.email_rules as NotificationSettings['emailRules'],
      chatEvents: row.chat_events,
      chat: row.chat_provider && row.chat_channel ? { provider: row.chat_provider, channel: row.chat_channel } : null,
      emailSender: row.email_provider && row.email_from ? { provider: row.email_provider, from: row.email_from } : null,
    };
  }

  /** Takes a due message: leased, its secrets decrypted, in one short transaction. */
  async function claim(tenantId: string, id: string) {
    return tenancy.withTenant(tenantId, async (tx) => {
      const row = await repo.claimable(tx, tenantId, id, clock());
      if (!row) return undefined;
      const attempts = row.attempts + 1;
      await repo.lease(tx, tenantId, id, attempts, new Date(clock().getTime() + LEASE_MS));
      const secrets = row.secret_vars ? (JSON.parse((await deps.vault.decrypt(tx, SECRET_PURPOSE, id, row.secret_vars)).reveal()) as Record<string, string>) : {};
      const settings = row.sender_provider ? await settingsIn(tx) : DEFAULT_SETTINGS;
      return { row, attempts, secrets, settings };
    });
  }

  /** Sends one message (no transaction open during the call) and records the outcome. */
  async function deliver(tenantId: string, id: string): Promise<NotificationStatus | 'skipped'> {
    const claimed = await claim(tenantId, id);
    if (!claimed) return 'skipped';
    const { row, attempts } = claimed;
    // Which sender sent an email is recorded with it: a bounce report counts only from that sender.
    let sentBy = row.sender_provider;
    const outcome: SendOutcome = await send(tenantId, row, claimed.secrets, claimed.settings, (provider) => { sentBy = provider; })
      .catch((): SendOutcome => ({ ok: false, error: 'render_failed', retry: false }));
    const now = clock();
    const limited = !outcome.ok && outcome.retryAfterMs !== undefined;
    const final = !outcome.ok && (!outcome.retry || attempts >= (limited ? MAX_RATE_LIMITED_ATTEMPTS : MAX_ATTEMPTS));
    const status: NotificationStatus = outcome.ok ? 'SENT' : final ? 'FAILED' : 'PENDING';
    await tenancy.withTenant(tenantId, (tx) =>
      repo.settle(tx, tenantId, id, attempts, outcome.ok
        ? { status, provider_message_id: outcome.messageId, sender_provider: sentBy, error: null, sent_at: now, clearSecrets: true }
        : { status, error: outcome.error, clearSecrets: final, ...(final ? {} : { next_attempt_at: new Date(now.getTime() + (outcome.retryAfterMs ?? retryDelayMs(attempts))) }) }),
    );
    if (!outcome.ok) deps.log?.warn({ tenantId, notificationId: id, template: row.template, error: outcome.error, attempts, final }, 'a notification was not sent');
    return status;
  }

  function send(tenantId: string, row: NotificationRow, secrets: Record<string, string>, settings: NotificationSettings, sender: (provider: string | null) => void): Promise<SendOutcome> {
    const message = render(row.template as TemplateName, { ...row.vars, ...secrets });
    if (row.channel === 'chat') {
      if (!row.sender_provider) return Promise.resolve({ ok: false, error: 'no_chat_provider', retry: false });
      return deps.transports.chat(tenantId, row.sender_provider, { channel: row.recipient, text: `${message.subject}\n${message.text.trim()}` });
    }
    const own = row.sender_provider && settings.emailSender?.provider === row.sender_provider ? settings.emailSender : null;
    const from = own?.from ?? deps.transports.platformFrom;
    if (!from) return Promise.resolve({ ok: false, error: 'no_platform_sender', retry: false });
    sender(own?.provider ?? null);
    return deps.transports.email(tenantId, own ? { provider: own.provider } : null, { from, to: row.recipient, ...message, idempotencyKey: `keyhold-notification-${row.id}` });
  }

  /** Sends, in the background, messages whose transaction has just committed (tests await `idle`). */
  function deliverSoon(tenantId: string, ids: Array<string | null>) {
    for (const id of ids) {
      if (!id) continue;
      const p = deliver(tenantId, id).catch((err: unknown) => deps.log?.warn({ tenantId, notificationId: id, err: { message: (err as Error).message } }, 'notification delivery failed; the sender job retries it'));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
  }

  /** Every message that is due, across tenants: what the sender job runs. */
  async function sendDue(opts: { limit?: number } = {}) {
    const stats: Record<string, number> = { SENT: 0, PENDING: 0, FAILED: 0, BOUNCED: 0, skipped: 0 };
    for (const { tenant_id, id } of await repo.due(clock(), opts.limit ?? 200)) {
      const r = await deliver(tenant_id, id).catch(() => 'skipped' as const);
      stats[r] = (stats[r] ?? 0) + 1;
    }
    return stats;
  }

  /** A provider said a message it accepted bounced (inbound webhook processing, in its transaction). */
  async function onDeliveryStatus(tx: TenantTx, s: { provider: string; messageId: string; status: 'bounced' }) {
    await repo.markBounced(tx, scopeTenantId(tx)!, s.provider, s.messageId);
  }

  /**
   * Owners of tenants whose trial ends within 3 days hear of it once per trial end (the dedupe key
   * holds the end date, so a second run the same day, or on the next, adds nothing).
   */
  async function notifyTrialsEnding() {
    const now = clock();
    let queued = 0;
    for (const t of await repo.trialsEnding(now, new Date(now.getTime() + 3 * 86_400_000))) {
      const ids = await tenancy.withTenant(t.id, async (tx) => {
        const vars = { organization: await deps.people.organization(tx), endsOn: t.trial_ends_at.toISOString().slice(0, 10), adminUrl: `${deps.publicUrl}/admin/billing` };
        const out: Array<string | null> = [];
        for (const to of await deps.people.emailsOf(tx, ['owner'])) {
          out.push(await enqueue(tx, { channel: 'email', template: 'trial_ending', recipient: to, vars, dedupeKey: `trial_ending:${t.trial_ends_at.toISOString()}:${to}` }));
        }
        return out;
      });
      queued += ids.filter(Boolean).length;
      deliverSoon(t.id, ids);
    }
    return { queued };
  }

  async function list(p: TenantPrincipal, q: { page: number; limit: number; status?: NotificationStatus; channel?: 'email' | 'chat' }) {
    assertRole(p, 'admin');
    const { rows, total } = await tenancy.withTenant(p.tenantId, (tx) =>
      repo.page(tx, p.tenantId, { limit: q.limit, offset: (q.page - 1) * q.limit, ...(q.status ? { status: q.status } : {}), ...(q.channel ? { channel: q.channel } : {}) }));
    const items = rows.map((r) => ({
      id: r.id, channel: r.channel, template: r.template, recipient: r.channel === 'email' ? maskEmail(r.recipient) : r.recipient,
      sender: r.sender_provider ?? 'platform', status: r.status, providerMessageId: r.provider_message_id, error: r.error,
      attempts: r.attempts, createdAt: r.created_at.toISOString(), sentAt: r.sent_at?.toISOString() ?? null,
    }));
    return { items, pagination: paginate(q.page, q.limit, total) };
  }

  async function getSettings(p: TenantPrincipal) {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, settingsIn);
  }

  async function putSettings(p: TenantPrincipal, input: z.input<typeof SettingsInput>) {
    assertRole(p, 'admin');
    const s = SettingsInput.parse(input);
    if (s.chat && !deps.adapterFor({ id: s.chat.provider }).messaging?.chat) throw new AppError('VALIDATION_FAILED', `chat.provider: '${s.chat.provider}' cannot post chat messages`);
    if (s.emailSender && !deps.adapterFor({ id: s.emailSender.provider }).messaging?.email) throw new AppError('VALIDATION_FAILED', `emailSender.provider: '${s.emailSender.provider}' cannot send email`);
    if (s.emailSender && !z.string().email().safeParse(s.emailSender.from.replace(/^.*<([^>]+)>$/, '$1')).success) throw new AppError('VALIDATION_FAILED', 'emailSender.from: must be an email address (optionally "Name <address>")');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      await repo.putSettings(tx, {
        tenant_id: p.tenantId, email_rules: s.emailRules, chat_events: s.chatEvents, chat_provider: s.chat?.provider ?? null, chat_channel: s.chat?.channel ?? null,
        email_provider: s.emailSender?.provider ?? null, email_from: s.emailSender?.from ?? null, updated_at: clock(),
      });
      const after = await settingsIn(tx);
      // Where alerts go and who sends them is worth a trail (names and addresses, no secrets).
      await deps.audit.record(p, { action: 'notification_settings.update', entity: { type: 'notification_settings', id: p.tenantId }, metadata: { ...after } }, tx);
      return after;
    });
  }

  return {
    requestSend: () => kick(),
    useKick: (k: () => void) => { kick = k; },
    enqueue, settingsIn, deliver, deliverSoon, sendDue, onDeliveryStatus, notifyTrialsEnding, list, getSettings, putSettings,
    /** Resolves when background deliveries started so far have finished. */
    idle: async () => {
      while (inFlight.size) await Promise.allSettled([...inFlight]);
    },
  };
}
export type NotificationsService = ReturnType<typeof createNotificationsService>;
