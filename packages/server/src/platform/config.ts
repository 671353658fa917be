import path from 'node:path';
import { z } from 'zod';
import { Secret } from './crypto/secret.js';
import { type IdpConfig, idpConfig } from './idp-config.js';

/**
 * Keyhold's whole configuration, parsed once at boot from the environment and then passed
 * explicitly to whatever needs it. Nothing reads `process.env` after this.
 */
const port = z.coerce.number().int().min(1).max(65535);
const postgresUrl = z
  .string()
  .url()
  .refine((u) => /^postgres(ql)?:\/\//.test(u), 'must start with postgres:// or postgresql://');

const base64Key = z
  .string()
  .refine((v) => /^[A-Za-z0-9+/_-]+={0,2}$/.test(v) && Buffer.from(v, 'base64').length >= 32, 'must be at least 32 bytes, base64 (keyhold generate-key)');

/**
 * Who may scrape `/metrics`: `token` — callers with `Authorization: Bearer <KEYHOLD_METRICS_TOKEN>`;
 * `loopback` — any caller from 127.0.0.1/::1; `open` — anyone; `off` — not served.
 */
export const METRICS_MODES = ['token', 'loopback', 'open', 'off'] as const;
/** Who may create an organization: anyone, holders of a platform-issued invitation, or no one. */
export const SIGNUP_MODES = ['open', 'invite', 'closed'] as const;

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  KEYHOLD_HOST: z.string().min(1).default('127.0.0.1'),
  KEYHOLD_PORT: port.optional(),
  PORT: port.optional(),
  KEYHOLD_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KEYHOLD_DATA_DIR: z.string().min(1).default('./.keyhold'),
  KEYHOLD_PG_DATA_DIR: z.string().min(1).optional(),
  KEYHOLD_PG_PORT: port.default(54329),
  DATABASE_URL: postgresUrl.optional(),
  KEYHOLD_APP_DATABASE_URL: postgresUrl.optional(),
  KEYHOLD_DB_APP_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
  KEYHOLD_JOBS_DATABASE_URL: postgresUrl.optional(),
  KEYHOLD_DB_JOBS_PASSWORD: z.string().min(16, 'must be at least 16 characters').optional(),
  KEYHOLD_DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  KEYHOLD_JWT_SECRET: base64Key.optional(),
  KEYHOLD_ADMIN_JWT_SECRET: base64Key.optional(),
  KEYHOLD_MASTER_KEYS: z.string().min(1).optional(),
  KEYHOLD_MASTER_KEY_FILE: z.string().min(1).optional(),
  KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  KEYHOLD_PUBLIC_URL: z.string().regex(/^https?:\/\/[^\s/?#]+$/, 'must be an origin like https://keyhold.example.com (no path)').optional(),
  KEYHOLD_TRUST_PROXY: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  KEYHOLD_METRICS: z.enum(METRICS_MODES).optional(),
  KEYHOLD_METRICS_TOKEN: z.string().min(32, 'must be at least 32 characters (keyhold generate-key)').optional(),
  KEYHOLD_SIGNUP: z.enum(SIGNUP_MODES).optional(),
  KEYHOLD_TRIAL_DAYS: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number of days (0: no trial)')
    .transform(Number)
    .pipe(z.number().max(3650, 'must be at most 3650 days'))
    .default(14),
  KEYHOLD_WEBHOOK_RAW_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  KEYHOLD_WEBHOOK_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS: z.coerce.number().min(0).max(720).default(24),
  // The platform's email sender (notifications, password reset, invitations): a Resend API key and from-address.
  KEYHOLD_RESEND_API_KEY: z.string().min(8).optional(),
  KEYHOLD_EMAIL_FROM: z.string().trim().min(3).max(254).optional(),
  KEYHOLD_RESEND_BASE_URL: z.string().regex(/^https?:\/\/[^\s]+$/, 'must be an http(s) URL').default('https://api.resend.com'),
  KEYHOLD_DELIVERY_PAYLOAD_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  KEYHOLD_DELIVERY_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(90),
  KEYHOLD_DELIVERY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(15_000),
  KEYHOLD_SHUTDOWN_DRAIN_SECONDS: z.coerce.number().min(0).max(300).optional(),
});

/** Variables whose values must never be echoed back in an error message. */
const SECRET_VARS = new Set([
  'DATABASE_URL', 'KEYHOLD_APP_DATABASE_URL', 'KEYHOLD_DB_APP_PASSWORD', 'KEYHOLD_JOBS_DATABASE_URL', 'KEYHOLD_DB_JOBS_PASSWORD',
  'KEYHOLD_JWT_SECRET', 'KEYHOLD_ADMIN_JWT_SECRET', 'KEYHOLD_MASTER_KEYS', 'KEYHOLD_METRICS_TOKEN', 'KEYHOLD_RESEND_API_KEY',
]);

export type Config = {
  env: 'development' | 'test' | 'production';
  host: string;
  port: number;
  logLevel: z.infer<typeof EnvSchema>['KEYHOLD_LOG_LEVEL'];
  dataDir: string;
  trustProxy: boolean;
  /** Let custom providers use private/loopback URLs (local development only). */
  allowPrivateProviderUrls: boolean;
  database: DatabaseConfig;
  /** Signing keys for tenant and platform-admin tokens; generated in dev when absent (see dev-keys.ts). */
  jwt: { tenantKey?: Buffer; platformKey?: Buffer };
  /** Provider base URL overrides by provider id, from KEYHOLD_PROVIDER_<ID>_BASE_URL. */
  providerBaseUrls: Record<string, string>;
  /** OAuth URL origin overrides by provider id, from KEYHOLD_PROVIDER_<ID>_AUTH_URL (paths are kept). */
  providerAuthUrls: Record<string, string>;
  /** The platform's own OAuth app per provider, from KEYHOLD_OAUTH_<ID>_CLIENT_ID / _CLIENT_SECRET. */
  oauthApps: Record<string, OAuthAppConfig>;
  /** Where browsers reach Keyhold; OAuth redirect URIs are built from it. */
  publicUrl: string;
  /** Master keys (KEKs) for the vault; see domains/vault/kek.ts. */
  masterKeys?: string;
  masterKeyFile?: string;
  /** Who may scrape `/metrics`. */
  metrics: MetricsAccess;
  /** Who may create an organization through `POST /api/auth/signup`. */
  signup: SignupMode;
  /** Length of a new organization's trial; 0: new organizations start active. */
  trialDays: number;
  /** Inbound webhooks: the operator's app-level signing secrets and verify tokens, and retention. */
  webhooks: WebhookConfig;
  /** The platform's email sender; absent: no email is sent (messages are logged FAILED `no_platform_sender`). */
  email?: EmailSenderConfig;
  /** Outbound webhooks to tenants' endpoints: attempt timeout and retention. */
  deliveries: DeliveryConfig;
  /**
   * On SIGTERM, how long the node keeps serving with /ready answering 503 before it stops
   * accepting connections, so load balancers take it out first (KEYHOLD_SHUTDOWN_DRAIN_SECONDS;
   * default 10 s in production, 0 elsewhere).
   */
  shutdownDrainMs: number;
  /** The SaaS's own identity provider whose tokens Keyhold trusts (KEYHOLD_IDP_*); absent: none. */
  idp?: IdpConfig;
};

export type DeliveryConfig = {
  /** Longest an attempt may take (KEYHOLD_DELIVERY_TIMEOUT_MS, default 15 s). */
  timeoutMs: number;
  /** Sent bodies are dropped after this (KEYHOLD_DELIVERY_PAYLOAD_RETENTION_DAYS, default 30). */
  payloadRetentionDays: number;
  /** Finished deliveries and their attempt log after this (KEYHOLD_DELIVERY_RETENTION_DAYS, default 90). */
  retentionDays: number;
};

/** The platform's email sender: the provider's id, the operator's API key, the from-address and the API's base URL. */
export type EmailSenderConfig = { provider: string; apiKey: Secret; from: string; baseUrl: string };

export type WebhookConfig = {
  /** From KEYHOLD_WEBHOOK_<ID>_SECRETS (comma-separated: several during a rotation). */
  secrets: Record<string, Secret[]>;
  /** From KEYHOLD_WEBHOOK_<ID>_VERIFY_TOKEN (subscription handshakes). */
  verifyTokens: Record<string, Secret>;
  rawRetentionDays: number;
  retentionDays: number;
  /** How long a connection's replaced webhook signing secret still verifies (KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS). */
  secretOverlapHours?: number;
};

export type MetricsAccess = { mode: 'token'; token: Secret } | { mode: Exclude<(typeof METRICS_MODES)[number], 'token'> };
export type SignupMode = (typeof SIGNUP_MODES)[number];

export type OAuthAppConfig = {
  clientId: string;
  clientSecret: Secret;
  /** Amazon SP-API: the app's solution id used on the consent page, when it differs from the LWA client id. */
  applicationId?: string;
  /**
   * The scopes this app requests, replacing the catalog's `oauth.scopes` (from
   * KEYHOLD_OAUTH_<ID>_SCOPES): what a provider lets an app ask for can depend on the app
   * (its age, its review), which only the operator knows.
   */
  scopes?: string[];
};

export type DatabaseConfig =
  | {
      mode: 'external';
      /** Migrator connection: creates roles, owns nothing at run time. */
      adminUrl: string;
      /** Connection as the RLS-bound app role. */
      appUrl: string;
      /** Set on the app role by `migrate` when Keyhold manages the role's password. */
      appPassword?: string;
      /** Connection as the jobs role (pg-boss); required only where jobs run (see `requireJobsUrl`). */
      jobsUrl?: string;
      /** Set on the jobs role by `migrate` when Keyhold manages the role's password. */
      jobsPassword?: string;
      poolMax: number;
    }
  | { mode: 'embedded'; pgDataDir: string; pgPort: number; poolMax: number };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? 'environment');
        const value = env[name];
        const shown = value === undefined || SECRET_VARS.has(name) ? '' : ` (got ${JSON.stringify(value)})`;
        return `${name}: ${issue.message}${shown}`;
      }),
    );
  }
  const e = parsed.data;
  const dataDir = path.resolve(cwd, e.KEYHOLD_DATA_DIR);
  const providerBaseUrls = providerOverrides(env, PROVIDER_URL_VAR);
  const port = e.KEYHOLD_PORT ?? e.PORT ?? 3000;
  const { idp, problems: idpProblems } = idpConfig(env, e.NODE_ENV === 'production');
  if (idpProblems.length) throw new ConfigError(idpProblems);
  return {
    env: e.NODE_ENV,
    host: e.KEYHOLD_HOST,
    port,
    logLevel: e.KEYHOLD_LOG_LEVEL,
    dataDir,
    trustProxy: e.KEYHOLD_TRUST_PROXY,
    allowPrivateProviderUrls: e.KEYHOLD_ALLOW_PRIVATE_PROVIDER_URLS,
    database: databaseConfig(e, dataDir, cwd),
    providerBaseUrls,
    providerAuthUrls: providerOverrides(env, PROVIDER_AUTH_URL_VAR),
    oauthApps: oauthApps(env),
    publicUrl: e.KEYHOLD_PUBLIC_URL ?? `http://${e.KEYHOLD_HOST === '0.0.0.0' ? '127.0.0.1' : e.KEYHOLD_HOST}:${port}`,
    ...(e.KEYHOLD_MASTER_KEYS ? { masterKeys: e.KEYHOLD_MASTER_KEYS } : {}),
    ...(e.KEYHOLD_MASTER_KEY_FILE ? { masterKeyFile: path.resolve(cwd, e.KEYHOLD_MASTER_KEY_FILE) } : {}),
    metrics: metricsAccess(e),
    signup: e.KEYHOLD_SIGNUP ?? (e.NODE_ENV === 'production' ? 'closed' : 'open'),
    trialDays: e.KEYHOLD_TRIAL_DAYS,
    webhooks: { ...webhookSecrets(env), rawRetentionDays: e.KEYHOLD_WEBHOOK_RAW_RETENTION_DAYS, retentionDays: e.KEYHOLD_WEBHOOK_RETENTION_DAYS, secretOverlapHours: e.KEYHOLD_WEBHOOK_SECRET_OVERLAP_HOURS },
    ...emailSender(e),
    deliveries: { timeoutMs: e.KEYHOLD_DELIVERY_TIMEOUT_MS, payloadRetentionDays: e.KEYHOLD_DELIVERY_PAYLOAD_RETENTION_DAYS, retentionDays: e.KEYHOLD_DELIVERY_RETENTION_DAYS },
    shutdownDrainMs: (e.KEYHOLD_SHUTDOWN_DRAIN_SECONDS ?? (e.NODE_ENV === 'production' ? 10 : 0)) * 1000,
    ...(idp ? { idp } : {}),
    jwt: {
      ...(e.KEYHOLD_JWT_SECRET ? { tenantKey: Buffer.from(e.KEYHOLD_JWT_SECRET, 'base64') } : {}),
      ...(e.KEYHOLD_ADMIN_JWT_SECRET ? { platformKey: Buffer.from(e.KEYHOLD_ADMIN_JWT_SECRET, 'base64') } : {}),
    },
  };
}

/** Both the key and the from-address, or neither. */
function emailSender(e: z.infer<typeof EnvSchema>): { email?: EmailSenderConfig } {
  if (!e.KEYHOLD_RESEND_API_KEY && !e.KEYHOLD_EMAIL_FROM) return {};
  if (!e.KEYHOLD_RESEND_API_KEY || !e.KEYHOLD_EMAIL_FROM) throw new ConfigError(['KEYHOLD_RESEND_API_KEY and KEYHOLD_EMAIL_FROM: set both to send email, or neither']);
  return { email: { provider: 'resend', apiKey: new Secret(e.KEYHOLD_RESEND_API_KEY), from: e.KEYHOLD_EMAIL_FROM, baseUrl: e.KEYHOLD_RESEND_BASE_URL } };
}

/** A token implies `token`; otherwise off in production and loopback-only elsewhere. */
function metricsAccess(e: z.infer<typeof EnvSchema>): MetricsAccess {
  const mode = e.KEYHOLD_METRICS ?? (e.KEYHOLD_METRICS_TOKEN ? 'token' : e.NODE_ENV === 'production' ? 'off' : 'loopback');
  if (mode === 'token') {
    if (!e.KEYHOLD_METRICS_TOKEN) throw new ConfigError(['KEYHOLD_METRICS_TOKEN: required with KEYHOLD_METRICS=token']);
    return { mode, token: new Secret(e.KEYHOLD_METRICS_TOKEN) };
  }
  // A token that protects nothing would only give a false sense of safety.
  if (e.KEYHOLD_METRICS_TOKEN) throw new ConfigError([`KEYHOLD_METRICS_TOKEN: only used with KEYHOLD_METRICS=token (KEYHOLD_METRICS is ${mode})`]);
  return { mode };
}

function databaseConfig(e: z.infer<typeof EnvSchema>, dataDir: string, cwd: string): DatabaseConfig {
  const poolMax = e.KEYHOLD_DB_POOL_MAX;
  if (!e.DATABASE_URL) {
    const pgDataDir = e.KEYHOLD_PG_DATA_DIR ? path.resolve(cwd, e.KEYHOLD_PG_DATA_DIR) : path.join(dataDir, 'pg');
    return { mode: 'embedded', pgDataDir, pgPort: e.KEYHOLD_PG_PORT, poolMax };
  }
  const jobsUrl = e.KEYHOLD_JOBS_DATABASE_URL ?? (e.KEYHOLD_DB_JOBS_PASSWORD ? jobsRoleUrl(e.DATABASE_URL, e.KEYHOLD_DB_JOBS_PASSWORD) : undefined);
  const jobs = { ...(jobsUrl ? { jobsUrl } : {}), ...(e.KEYHOLD_DB_JOBS_PASSWORD ? { jobsPassword: e.KEYHOLD_DB_JOBS_PASSWORD } : {}) };
  if (e.KEYHOLD_APP_DATABASE_URL) {
    return { mode: 'external', adminUrl: e.DATABASE_URL, appUrl: e.KEYHOLD_APP_DATABASE_URL, appPassword: e.KEYHOLD_DB_APP_PASSWORD, ...jobs, poolMax };
  }
  if (!e.KEYHOLD_DB_APP_PASSWORD) {
    throw new ConfigError([
      'KEYHOLD_DB_APP_PASSWORD: required when DATABASE_URL is set without KEYHOLD_APP_DATABASE_URL ' +
        '(Keyhold serves requests as the keyhold_app role and needs its password)',
    ]);
  }
  return {
    mode: 'external',
    adminUrl: e.DATABASE_URL,
    appUrl: appRoleUrl(e.DATABASE_URL, e.KEYHOLD_DB_APP_PASSWORD),
    appPassword: e.KEYHOLD_DB_APP_PASSWORD,
    ...jobs,
    poolMax,
  };
}

/** Background jobs need the jobs role's login; commands that run none (audit verify, migrate) do not. */
export const JOBS_LOGIN_REQUIRED =
  'KEYHOLD_DB_JOBS_PASSWORD: required when DATABASE_URL is set without KEYHOLD_JOBS_DATABASE_URL ' +
  '(background jobs run as the keyhold_jobs role and need its password)';

const PROVIDER_URL_VAR = /^KEYHOLD_PROVIDER_([A-Z0-9_]+)_BASE_URL$/;
const PROVIDER_AUTH_URL_VAR = /^KEYHOLD_PROVIDER_([A-Z0-9_]+)_AUTH_URL$/;
const OAUTH_APP_VAR = /^KEYHOLD_OAUTH_([A-Z0-9_]+)_(CLIENT_ID|CLIENT_SECRET|APPLICATION_ID|SCOPES)$/;
/** RFC 6749 §3.3 scope-token. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;
const providerIdOf = (envPart: string) => envPart.toLowerCase().replaceAll('_', '-');

/** `KEYHOLD_PROVIDER_AMAZON_SP_API_BASE_URL=http://127.0.0.1:4010` → `{ 'amazon-sp-api': 'http://127.0.0.1:4010' }`. */
function providerOverrides(env: NodeJS.ProcessEnv, pattern: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const m = pattern.exec(name);
    if (!m || !value) continue;
    if (!/^https?:\/\/[^\s]+$/.test(value)) throw new ConfigError([`${name}: must be an http(s) URL (got ${JSON.stringify(value)})`]);
    out[providerIdOf(m[1]!)] = value;
  }
  return out;
}

/**
 * `KEYHOLD_OAUTH_XERO_CLIENT_ID` + `KEYHOLD_OAUTH_XERO_CLIENT_SECRET` → `{ xero: {...} }`; both or neither.
 * `KEYHOLD_OAUTH_XERO_SCOPES` (space- or comma-separated) replaces the catalog's scopes for that app.
 */
function oauthApps(env: NodeJS.ProcessEnv): Record<string, OAuthAppConfig> {
  const parts: Record<string, Partial<Record<'CLIENT_ID' | 'CLIENT_SECRET' | 'APPLICATION_ID' | 'SCOPES', string>>> = {};
  for (const [name, value] of Object.entries(env)) {
    const m = OAUTH_APP_VAR.exec(name);
    if (m && value) (parts[m[1]!] ??= {})[m[2] as 'CLIENT_ID'] = value;
  }
  const out: Record<string, OAuthAppConfig> = {};
  const problems: string[] = [];
  for (const [envId, p] of Object.entries(parts)) {
    if (!p.CLIENT_ID || !p.CLIENT_SECRET) {
      problems.push(`KEYHOLD_OAUTH_${envId}_CLIENT_ID and KEYHOLD_OAUTH_${envId}_CLIENT_SECRET: set both (or neither)`);
      continue;
    }
    const scopes = p.SCOPES?.split(/[\s,]+/).filter(Boolean);
    if (scopes && (scopes.length === 0 || !scopes.every((x) => SCOPE_TOKEN.test(x)))) {
      problems.push(`KEYHOLD_OAUTH_${envId}_SCOPES: list scope names separated by spaces or commas (got ${JSON.stringify(p.SCOPES)})`);
      continue;
    }
    out[providerIdOf(envId)] = {
      clientId: p.CLIENT_ID, clientSecret: new Secret(p.CLIENT_SECRET),
      ...(p.APPLICATION_ID ? { applicationId: p.APPLICATION_ID } : {}),
      ...(scopes ? { scopes } : {}),
    };
  }
  if (problems.length) throw new ConfigError(problems);
  return out;
}

const WEBHOOK_VAR = /^KEYHOLD_WEBHOOK_([A-Z0-9_]+)_(SECRETS|VERIFY_TOKEN)$/;

/** `KEYHOLD_WEBHOOK_SHOPIFY_SECRETS=new,old` → `{ shopify: [new, old] }`; values are kept as Secrets (never logged). */
function webhookSecrets(env: NodeJS.ProcessEnv): Pick<WebhookConfig, 'secrets' | 'verifyTokens'> {
  const secrets: Record<string, Secret[]> = {};
  const verifyTokens: Record<string, Secret> = {};
  for (const [name, value] of Object.entries(env)) {
    const m = WEBHOOK_VAR.exec(name);
    if (!m || !value) continue;
    if (m[2] === 'VERIFY_TOKEN') verifyTokens[providerIdOf(m[1]!)] = new Secret(value);
    else secrets[providerIdOf(m[1]!)] = value.split(',').map((v) => v.trim()).filter(Boolean).map((v) => new Secret(v));
  }
  return { secrets, verifyTokens };
}

/**
 * The app-level secrets a provider's webhooks are checked with: the configured ones, else the
 * OAuth app's client secret where the provider signs with it (Shopify signs webhooks with the
 * app's client secret, so one variable is enough).
 */
export function webhookAppSecrets(config: Pick<Config, 'webhooks' | 'oauthApps'>, provider: string, clientSecretSigns: boolean): string[] {
  const configured = config.webhooks.secrets[provider];
  if (configured?.length) return configured.map((s) => s.reveal());
  const app = config.oauthApps[provider];
  return clientSecretSigns && app ? [app.clientSecret.reveal()] : [];
}

export const APP_ROLE = 'keyhold_app';
export const OWNER_ROLE = 'keyhold_owner';
/** pg-boss's login: owns the job schema, has no right on Keyhold's tables. */
export const JOBS_ROLE = 'keyhold_jobs';

/** The same server and database as `adminUrl`, logged in as `role`. */
function roleUrl(adminUrl: string, role: string, password: string): string {
  const url = new URL(adminUrl);
  url.username = role;
  url.password = password;
  return url.toString();
}

/** The same server and database as `adminUrl`, logged in as the app role. */
export const appRoleUrl = (adminUrl: string, appPassword: string) => roleUrl(adminUrl, APP_ROLE, appPassword);

/** The same server and database as `adminUrl`, logged in as the jobs role. */
export const jobsRoleUrl = (adminUrl: string, jobsPassword: string) => roleUrl(adminUrl, JOBS_ROLE, jobsPassword);
