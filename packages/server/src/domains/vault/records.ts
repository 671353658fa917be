/**
 * Every column that holds vault ciphertexts, with the purpose it was encrypted for. Key rotation
 * re-encrypts and `keys status` / `keys retire` count through this list, so a domain that stores
 * a secret adds its column here.
 */
export type VaultRecordLocation = {
  table: 'users' | 'platform_admins' | 'connections' | 'oauth_states' | 'oauth_pending' | 'notification_log' | 'webhook_endpoints';
  column: string;
  purpose: string;
  /** `tenant`: rows are tenant-scoped (RLS); `platform`: rows use the platform scope's keys. */
  scope: 'tenant' | 'platform';
};

export const VAULT_RECORDS: readonly VaultRecordLocation[] = [
  { table: 'connections', column: 'secrets', purpose: 'connection.secrets', scope: 'tenant' },
  { table: 'connections', column: 'previous_webhook_secret', purpose: 'connection.previous_webhook_secret', scope: 'tenant' },
  { table: 'oauth_states', column: 'code_verifier', purpose: 'oauth_state.code_verifier', scope: 'tenant' },
  { table: 'oauth_pending', column: 'secrets', purpose: 'oauth_pending.secrets', scope: 'tenant' },
  { table: 'notification_log', column: 'secret_vars', purpose: 'notification.secret_vars', scope: 'tenant' },
  { table: 'users', column: 'mfa_secret', purpose: 'user.mfa_secret', scope: 'tenant' },
  { table: 'users', column: 'mfa_pending_secret', purpose: 'user.mfa_pending_secret', scope: 'tenant' },
  { table: 'webhook_endpoints', column: 'secret', purpose: 'webhook_endpoint.secret', scope: 'tenant' },
  { table: 'webhook_endpoints', column: 'previous_secret', purpose: 'webhook_endpoint.previous_secret', scope: 'tenant' },
  { table: 'platform_admins', column: 'mfa_secret', purpose: 'platform_admin.mfa_secret', scope: 'platform' },
  { table: 'platform_admins', column: 'mfa_pending_secret', purpose: 'platform_admin.mfa_pending_secret', scope: 'platform' },
];
