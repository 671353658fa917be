import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** Kysely's view of the notification and password-reset tables (migration 0023). */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export const NOTIFICATION_STATUSES = ['PENDING', 'SENT', 'FAILED', 'BOUNCED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
export type NotificationChannel = 'email' | 'chat';

export type NotificationLogTable = {
  id: string;
  tenant_id: string;
  channel: NotificationChannel;
  template: string;
  recipient: string;
  sender_provider: string | null;
  vars: JSONColumnType<Record<string, string>, string, string>;
  secret_vars: string | null;
  status: ColumnType<NotificationStatus, NotificationStatus | undefined, NotificationStatus>;
  provider_message_id: string | null;
  error: string | null;
  attempts: ColumnType<number, number | undefined, number>;
  dedupe_key: string | null;
  created_at: Timestamp;
  next_attempt_at: Timestamp;
  sent_at: Timestamp | null;
};

export type NotificationSettingsTable = {
  tenant_id: string;
  email_rules: JSONColumnType<Record<string, string[]>, string, string>;
  chat_events: ColumnType<string[], string[] | undefined, string[]>;
  chat_provider: string | null;
  chat_channel: string | null;
  email_provider: string | null;
  email_from: string | null;
  updated_at: Timestamp;
};

export type PasswordResetTokensTable = {
  id: Generated<string>;
  tenant_id: string;
  user_id: string;
  token_hash: string;
  created_at: Timestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
};
