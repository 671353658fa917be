import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type { CommerceLowStockAlertsTable, CommerceSettingsTable } from './commerce-schema.js';
import type { NotificationLogTable, NotificationSettingsTable, PasswordResetTokensTable } from './notifications-schema.js';
import type { RecordsTable, SyncRunsTable, SyncSchedulesTable } from './syncs-schema.js';
import type { ExchangeRateRunsTable, ExchangeRateSettingsTable, ExchangeRatesTable } from './exchange-rates-schema.js';
import type { WorkingCapitalMetricsTable } from './working-capital-schema.js';
import type {
  EventQueueTable, EventsTable, InboundEventsTable, InboundQuarantineTable, WebhookDeliveriesTable, WebhookDeliveryAttemptsTable, WebhookEndpointsTable,
} from './events-schema.js';

/** Kysely's view of Keyhold's tables. The SQL in `migrations/` is the source of truth. */
export type Database = {
  commerce_settings: CommerceSettingsTable;
  commerce_low_stock_alerts: CommerceLowStockAlertsTable;
  tenants: TenantsTable;
  audit_logs: AuditLogsTable;
  audit_chain_heads: AuditChainHeadsTable;
  keyhold_migrations: MigrationsTable;
  users: UsersTable;
  user_identities: UserIdentitiesTable;
  mfa_recovery_codes: MfaRecoveryCodesTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  auth_attempts: AuthAttemptsTable;
  api_keys: ApiKeysTable;
  platform_api_keys: PlatformApiKeysTable;
  platform_admins: PlatformAdminsTable;
  platform_sessions: PlatformSessionsTable;
  platform_refresh_tokens: PlatformRefreshTokensTable;
  signup_invitations: SignupInvitationsTable;
  tenant_keys: TenantKeysTable;
  connections: ConnectionsTable;
  oauth_states: OAuthStatesTable;
  connect_sessions: ConnectSessionsTable;
  oauth_pending: OAuthPendingTable;
  connection_events: ConnectionEventsTable;
  events: EventsTable;
  event_queue: EventQueueTable;
  inbound_events: InboundEventsTable;
  inbound_quarantine: InboundQuarantineTable;
  notification_log: NotificationLogTable;
  notification_settings: NotificationSettingsTable;
  password_reset_tokens: PasswordResetTokensTable;
  webhook_endpoints: WebhookEndpointsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_delivery_attempts: WebhookDeliveryAttemptsTable;
  records: RecordsTable;
  sync_runs: SyncRunsTable;
  exchange_rate_settings: ExchangeRateSettingsTable;
  exchange_rates: ExchangeRatesTable;
  exchange_rate_runs: ExchangeRateRunsTable;
  working_capital_metrics: WorkingCapitalMetricsTable;
  sync_schedules: SyncSchedulesTable;
};

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** pg returns int8 as a string so no precision is lost. */
type Int8 = ColumnType<string, string | number | bigint, string | number | bigint>;

export const TENANT_PLANS = ['starter', 'professional', 'performance', 'enterprise'] as const;
export type TenantPlan = (typeof TENANT_PLANS)[number];
export const TENANT_STATUSES = ['active', 'trial', 'suspended', 'cancelled', 'trial_expired'] as const;
export type TenantStatus = (typeof TENANT_STATUSES)[number];

export type TenantsTable = {
  id: string;
  slug: string;
  name: string;
  plan: ColumnType<TenantPlan, TenantPlan | undefined, TenantPlan>;
  status: ColumnType<TenantStatus, TenantStatus | undefined, TenantStatus>;
  trial_ends_at: Timestamp | null;
  max_users: ColumnType<number, number | undefined, number>;
  max_connections: ColumnType<number, number | undefined, number>;
  features: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  /** The identity provider's id for this organisation (KEYHOLD_IDP_ORG_MATCH=external_id). */
  idp_org_id: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  deleted_at: Timestamp | null;
};

export type AuditLogsTable = {
  id: string;
  tenant_id: string | null;
  seq: Int8;
  actor_type: string;
  actor_id: string | null;
  action: string;
  entity_type: string | null;
  entity_id: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  metadata: JSONColumnType<Record<string, unknown>, string, never>;
  created_at: Timestamp;
  prev_hash: string;
  hash: string;
};

export type AuditChainHeadsTable = {
  tenant_id: string | null;
  last_seq: Int8;
  last_hash: string;
  updated_at: DefaultTimestamp;
};

export type MigrationsTable = {
  name: string;
  checksum: string;
  applied_at: Generated<Date>;
};

export const USER_ROLES = ['owner', 'admin', 'member', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export type UsersTable = {
  id: Generated<string>;
  tenant_id: string;
  email: string;
  password_hash: string | null;
  role: UserRole;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  must_change_password: ColumnType<boolean, boolean | undefined, boolean>;
  invite_token_hash: string | null;
  invite_expires_at: Timestamp | null;
  mfa_pending_secret: string | null;
  mfa_secret: string | null;
  mfa_last_step: Int8 | null;
  last_login_at: Timestamp | null;
  onboarding_skipped: ColumnType<string[], string[] | undefined, string[]>;
  onboarding_dismissed_at: Timestamp | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
};

/** A user created from an identity provider's token, linked by (issuer, subject). */
export type UserIdentitiesTable = {
  tenant_id: string;
  user_id: string;
  issuer: string;
  subject: string;
  created_at: DefaultTimestamp;
};

export type MfaRecoveryCodesTable = {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  code_hash: string;
  used_at: Timestamp | null;
  created_at: DefaultTimestamp;
};

export type SessionRevokedReason = 'logout' | 'revoked_by_user' | 'refresh_token_reuse' | 'user_disabled' | 'password_changed';

export type SessionsTable = {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: DefaultTimestamp;
  last_used_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_reason: SessionRevokedReason | null;
};

export type RefreshTokensTable = {
  id: Generated<string>;
  tenant_id: string;
  session_id: string;
  token_hash: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  rotated_at: Timestamp | null;
};

export type AuthAttemptsTable = {
  key_hash: string;
  window_started_at: Timestamp;
  failures: number;
};

export type ApiKeysTable = {
  id: Generated<string>;
  tenant_id: string;
  name: string;
  prefix: string;
  key_hash: string;
  role: 'admin' | 'member' | 'viewer';
  scopes: string[];
  created_by: string | null;
  /** The key that created this one (revoked with it). */
  created_by_key: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: DefaultTimestamp;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
};

export type PlatformApiKeysTable = Omit<ApiKeysTable, 'tenant_id' | 'role' | 'created_by_key'>;

export const PLATFORM_ROLES = ['SUPER_ADMIN', 'ADMIN', 'DEVELOPER', 'SUPPORT', 'MARKETING', 'FINANCE', 'SALES'] as const;
export type PlatformRole = (typeof PLATFORM_ROLES)[number];

export type PlatformAdminsTable = {
  id: Generated<string>;
  email: string;
  password_hash: string;
  role: PlatformRole;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  mfa_pending_secret: string | null;
  mfa_secret: string | null;
  mfa_last_step: Int8 | null;
  last_login_at: Timestamp | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
};

export type PlatformSessionsTable = {
  id: Generated<string>;
  admin_id: string;
  ip: string | null;
  user_agent: string | null;
  created_at: DefaultTimestamp;
  last_used_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  revoked_reason: string | null;
};

export type PlatformRefreshTokensTable = {
  id: Generated<string>;
  session_id: string;
  token_hash: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  rotated_at: Timestamp | null;
};

export type SignupInvitationsTable = {
  id: Generated<string>;
  token_hash: string;
  email: string | null;
  created_by: string | null;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
  used_by_tenant: string | null;
};

export type TenantKeysTable = {
  tenant_id: string | null;
  version: number;
  wrapped_dek: string;
  kek_id: string;
  state: ColumnType<'active' | 'retired', 'active' | 'retired' | undefined, 'active' | 'retired'>;
  created_at: DefaultTimestamp;
  retired_at: Timestamp | null;
};

export const CONNECTION_STATUSES = ['active', 'needs_reauth', 'degraded', 'disabled', 'error'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export type ConnectionsTable = {
  id: Generated<string>;
  tenant_id: string;
  provider: string;
  label: ColumnType<string, string | undefined, string>;
  auth_mode: string;
  secrets: string;
  config: JSONColumnType<Record<string, string>, string | undefined, string>;
  routing_key: string | null;
  status: ColumnType<ConnectionStatus, ConnectionStatus | undefined, ConnectionStatus>;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  credential_version: ColumnType<number, number | undefined, number>;
  token_expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  last_verified_at: Timestamp | null;
  last_synced_at: Timestamp | null;
  /** When a refresh last renewed the access token (migration 0041); a routine refresh writes no event. */
  last_refreshed_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  created_by: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  refresh_lease_owner: string | null;
  refresh_lease_until: Timestamp | null;
  refresh_failures: ColumnType<number, number | undefined, number>;
  next_refresh_at: Timestamp | null;
  /** Where the current secrets came from (migration 0020): only 'oauth' ones may be upgraded. */
  token_origin: ColumnType<'oauth' | 'tenant' | null, 'oauth' | 'tenant' | null | undefined, 'oauth' | 'tenant' | null>;
  /** The opaque token of the connection's webhook URL (migration 0021), for per-connection webhooks. */
  endpoint_token: ColumnType<string | null, string | null | undefined, string | null>;
  /** The webhook signing secret a rotation replaced (vault ciphertext, migration 0022), and when. */
  previous_webhook_secret: ColumnType<string | null, string | null | undefined, string | null>;
  webhook_secret_replaced_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
};

export type OAuthStatesTable = {
  id: string;
  state_hash: string;
  tenant_id: string;
  /** Null for a flow started from a Connect page (`connect_session_id` instead). */
  user_id: string | null;
  connect_session_id?: string | null;
  provider: string;
  label: string;
  browser_hash: string;
  code_verifier: string | null;
  redirect_uri: string;
  return_to: string | null;
  params: JSONColumnType<Record<string, string>, string | undefined, string>;
  expires_at: Timestamp;
  created_at: DefaultTimestamp;
};

export type ConnectSessionsTable = {
  id: string;
  tenant_id: string;
  token_hash: string;
  allowed_providers: string[] | null;
  label: string;
  end_user_id: string | null;
  end_user_email: string | null;
  allowed_origins: string[];
  return_to: string | null;
  reconnect_connection_id: string | null;
  created_by: string;
  expires_at: Timestamp;
  used_at: Date | null;
  connection_id: string | null;
  created_at: Timestamp;
};

export type OAuthChoice = { id: string; name: string };
export type OAuthPendingTable = {
  id: string;
  tenant_id: string;
  user_id: string;
  provider: string;
  label: string;
  secrets: string;
  choices: JSONColumnType<OAuthChoice[], string, string>;
  return_to: string | null;
  expires_at: Timestamp;
  created_at: DefaultTimestamp;
};

export const CONNECTION_EVENT_TYPES = [
  'connected', 'reconnected', 'updated', 'rotated', 'destination_changed', 'enabled', 'disabled',
  'needs_reauth', 'degraded', 'recovered', 'refresh_failed', 'verification_failed', 'disconnected', 'deleted',
] as const;
export type ConnectionEventType = (typeof CONNECTION_EVENT_TYPES)[number];
export type ConnectionEventsTable = {
  id: Generated<string>;
  tenant_id: string;
  connection_id: string;
  type: ConnectionEventType;
  detail: JSONColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: DefaultTimestamp;
};

export * from './events-schema.js';
