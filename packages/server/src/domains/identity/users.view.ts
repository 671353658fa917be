import type { UserRow } from './identity.repo.js';

/** What the API shows of a user: never a hash, secret or token. */
export type User = {
  id: string;
  email: string;
  role: UserRow['role'];
  isActive: boolean;
  mfaEnabled: boolean;
  mustChangePassword: boolean;
  invitePending: boolean;
  lastLoginAt: string | null;
  createdAt: string;
};

export function toUser(row: UserRow): User {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    isActive: row.is_active,
    mfaEnabled: row.mfa_secret !== null,
    mustChangePassword: row.must_change_password,
    invitePending: row.invite_token_hash !== null,
    lastLoginAt: row.last_login_at?.toISOString() ?? null,
    createdAt: row.created_at.toISOString(),
  };
}
