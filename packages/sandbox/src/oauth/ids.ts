import { createHash, randomBytes } from 'node:crypto';

export const OAUTH_PROVIDERS = ['xero', 'quickbooks', 'shopify', 'amazon-sp-api', 'messenger', 'slack'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];
export const isOAuthProvider = (p: string): p is OAuthProvider => (OAUTH_PROVIDERS as readonly string[]).includes(p);

/**
 * The provider-side identity of one account (one Xero organisation, QuickBooks company, selling
 * partner, Facebook Page or Shopify store). `id` is what Keyhold routes by.
 */
export type AccountIds = {
  id: string;
  name: string;
  // The rest are named like the config fields of Keyhold's catalog, so they can be stored as is.
  xeroTenantId?: string;
  realmId?: string;
  sellingPartnerId?: string;
  pageId?: string;
  storeDomain?: string;
  teamId?: string;
  /** Messenger: the Page's own (non-expiring) token, as /me/accounts lists it. */
  pageAccessToken?: string;
};

const digest = (...parts: Array<string | number>) => createHash('sha256').update(parts.join('\0')).digest();

/** Decimal digits from a hash, with a non-zero first digit so ids never look like they lost one. */
function digits(h: Buffer, first: string, length: number): string {
  const n = h.readBigUInt64BE(0) * 2n ** 64n + h.readBigUInt64BE(8);
  return first + (n % 10n ** BigInt(length - 1)).toString().padStart(length - 1, '0');
}

export function uuidFrom(h: Buffer): string {
  const b = Buffer.from(h.subarray(0, 16));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * Derived from (provider, account, index) only, so two tenants consenting with the same account
 * name reach the same provider account, which is how Keyhold's cross-tenant uniqueness is tested.
 */
export function accountIds(provider: string, account: string, index = 0): AccountIds {
  const h = digest(provider, account, index);
  switch (provider) {
    case 'xero': {
      const xeroTenantId = uuidFrom(h);
      return { id: xeroTenantId, name: `${account} organisation ${index + 1}`, xeroTenantId };
    }
    case 'quickbooks': {
      const realmId = digits(h, '9', 16);
      return { id: realmId, name: `${account} company`, realmId };
    }
    case 'amazon-sp-api': {
      const sellingPartnerId = `A${[...h.subarray(0, 13)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
      return { id: sellingPartnerId, name: `Selling partner ${account}`, sellingPartnerId };
    }
    case 'messenger': {
      const pageId = digits(h, '1', 15);
      return { id: pageId, name: `${account} page ${index + 1}`, pageId };
    }
    case 'slack': {
      const teamId = `T${[...h.subarray(0, 10)].map((b) => ALNUM[b % ALNUM.length]).join('')}`;
      return { id: teamId, name: `${account} workspace`, teamId };
    }
    case 'shopify':
      // A Shopify token is for one store; the store domain is the account.
      return { id: account.toLowerCase(), name: account, storeDomain: account.toLowerCase() };
    default:
      throw new Error(`the sandbox has no OAuth server for '${provider}'`);
  }
}

/** The Facebook user behind a Messenger grant (what /me answers for a user token). */
export const messengerUserId = (account: string) => digits(digest('messenger-user', account), '1', 16);
export const xeroConnectionId = (account: string, index: number, clientId: string) => uuidFrom(digest('xero-connection', account, index, clientId));

export const randomAccount = () => `acct-${randomBytes(6).toString('hex')}`;
export const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');
export const randomB64 = (bytes: number) => randomBytes(bytes).toString('base64url');
export const randomUuid = () => uuidFrom(randomBytes(16));
