import { z } from 'zod';
import { AUTH_MODES, INJECT_SCHEMES, OAUTH_FLOWS, REVOKE_FORMATS, WEBHOOK_SCHEMES } from '../../providers/values.js';

/*
 * The one source of truth for a catalog entry (`catalog/providers/<id>.yaml`). The loader validates
 * with it, the `Provider` type is inferred from it, and `npm run catalog:generate` writes
 * `catalog/provider.schema.json` (for editors) and the contract's `PROVIDER_FIELDS` from it.
 * Every enum below is a closed list: a value is added here together with the code that handles it.
 */

export const CATEGORIES = ['Accounting', 'E-commerce', 'ERP', 'Payments', 'Email', 'Media', 'AI', 'Messaging', 'Support', 'EDI', 'Custom'] as const;
export const OAUTH_CLIENT_AUTH = ['basic', 'post'] as const;
// Values that select provider code are listed with the adapters (no provider named here).
export { AUTH_MODES, INJECT_SCHEMES, OAUTH_FLOWS, REVOKE_FORMATS, WEBHOOK_SCHEMES };

const isRegExp = (source: string) => {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
};

const positiveInt = () => z.number().int().min(1);

export const CatalogFieldSchema = z.strictObject({
  name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]*$/),
  label: z.string().min(1),
  secret: z.boolean(),
  required: z.boolean().optional().meta({ default: true }),
  pattern: z.string().refine(isRegExp, 'is not a valid regular expression').optional().describe('Regular expression the value must match'),
  example: z.string().optional(),
  help: z.string().optional(),
  destination: z.boolean().optional().describe('A non-secret field that decides where or how the secrets are sent beyond what the templates show; changing it needs the same step-up as a rotation'),
  default: z.string().min(1).optional().describe(
    'Non-secret config only: the value a new connection gets when the tenant gives none. It is stored on the connection when saved, '
    + 'so changing the default later leaves existing connections as they are (an API version stays pinned)',
  ),
}).describe('A credential or config field a tenant supplies');

const InjectSchema = z.strictObject({
  headers: z.record(z.string(), z.string()).optional().describe('Header name → value template over {{field}} values'),
  defaultHeaders: z.record(z.string(), z.string()).optional().describe(
    'Header name → value template over non-secret config fields (an API version), sent unless the client sends that header itself',
  ),
  basicAuth: z.strictObject({ username: z.string(), password: z.string() }).optional(),
  scheme: z.enum(INJECT_SCHEMES).optional().describe('A signing scheme implemented in code, applied after the headers'),
}).describe('How credentials go on a provider request: header templates over {{field}} values, HTTP Basic, or a named scheme');

const VerifySchema = z.strictObject({
  method: z.enum(['GET', 'POST']),
  path: z.string().regex(/^\//),
  expectStatus: z.array(z.number().int().min(100).max(599)).min(1).optional(),
  expectJson: z.record(z.string(), z.unknown()).optional().describe('Top-level fields the answer must have (some providers answer 200 with ok: false)'),
  restrictedWhen: z.strictObject({
    status: z.number().int().min(400).max(499),
    json: z.record(z.string(), z.unknown()).describe('Top-level fields the refusal must have'),
    note: z.string().min(1).describe('What such a credential cannot do, reported with the result'),
  }).optional().describe('A refusal that still proves the credential valid but limited to part of the API (a send-only key, say): accepted and reported as restricted'),
}).describe('The request test-connection sends to check a credential');

const bucketFigures = {
  perSecond: z.number().positive().optional(),
  burst: positiveInt().optional(),
  perMinute: positiveInt().optional(),
  perHour: positiveInt().optional(),
  perDay: positiveInt().optional(),
};
/** The catalog figures a connection's non-secret config may replace (`rateLimits.fromConfig`). */
export const RATE_FIGURES = ['perSecond', 'burst', 'perMinute', 'perHour', 'perDay', 'concurrent'] as const;

const OperationLimitSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/).describe("The provider's name for the operation (its own bucket per connection)"),
  method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
  path: z.string().regex(/^(\/([A-Za-z0-9._~-]+|\*))+$/).describe('Path relative to the base URL, without query; `*` stands for exactly one path segment'),
  ...bucketFigures,
}).refine((o) => o.perSecond ?? o.perMinute ?? o.perHour ?? o.perDay, 'names no limit (perSecond, perMinute, perHour or perDay)')
  .describe("A limit of one operation: calls matching it take from the operation's buckets, which replace the default figure of the same window; windows it does not name still apply");

const RateLimitsSchema = z.strictObject({
  ...bucketFigures,
  concurrent: positiveInt().optional(),
  operations: z.array(OperationLimitSchema).optional(),
  fromConfig: z.partialRecord(z.enum(RATE_FIGURES), z.string())
    .optional()
    .describe("Figures a connection sets itself: figure → non-secret config field whose positive number replaces the catalog's (e.g. a plan's daily limit)"),
  notes: z.string().optional(),
});

const WebhooksSchema = z.strictObject({
  scheme: z.enum(WEBHOOK_SCHEMES),
  signatureHeader: z.string().optional(),
  routingKey: z.string()
    .regex(/^(endpoint|header:[A-Za-z0-9-]+|[A-Za-z_]\w*(\[\])?(\.[A-Za-z_]\w*(\[\])?)*)$/)
    .describe("Where the owning connection is found: a payload path ('events[].tenantId'), a header ('header:X-Shop-Domain'), or 'endpoint' (the connection's opaque endpoint token in the URL)"),
});

const OAuthSchema = z.strictObject({
  authorizeUrl: z.string(),
  tokenUrl: z.string(),
  revokeUrl: z.string().optional(),
  scopes: z.array(z.string()),
  pkce: z.boolean().optional().describe('PKCE S256 unless the provider refuses it').meta({ default: true }),
  clientAuth: z.enum(OAUTH_CLIENT_AUTH).optional(),
  refreshMarginSeconds: z.number().int().min(0).optional().describe('Refresh this long before the access token expires (default 300 s)'),
  flow: z.enum(OAUTH_FLOWS).optional().describe('Provider-specific steps around the standard code flow').meta({ default: 'standard' }),
  scopeSeparator: z.string().optional().meta({ default: ' ' }),
  revokeFormat: z.enum(REVOKE_FORMATS).optional().meta({ default: 'form' }),
  routingKeyField: z.string().optional().describe(
    'The non-secret config field that identifies the account at the provider (shop domain, realm id, organisation id, page id, team id). '
    + 'The connection store derives a connection\'s routing key from it on every write; it is unique across tenants and routes inbound webhooks',
  ),
  refreshNotes: z.string().optional().describe('How the provider refreshes and rotates tokens (access token lifetime, rotation, grace window), for operators'),
  authorizeParams: z.record(z.string(), z.string()).optional().describe('Extra authorize parameters the provider needs (e.g. prompt: consent to get a refresh token)'),
});

export const CatalogEntrySchema = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,40}$/),
  displayName: z.string().min(1),
  category: z.enum(CATEGORIES),
  description: z.string().optional(),
  docsUrl: z.string().regex(/^https:\/\//).optional(),
  docs: z.string().regex(/^docs\/providers\/[a-z][a-z0-9-]*\.md$/)
    .describe("Keyhold's guide to this provider, relative to the repository root: docs/providers/<id>.md"),
  reviewedAt: z.iso.date().describe('The day the guide and this entry were last checked against the provider\'s documentation (YYYY-MM-DD)'),
  authMode: z.enum(AUTH_MODES),
  baseUrl: z.string()
    .regex(/^(https:\/\/\S+|\{\{[a-zA-Z]+\}\})$/)
    .describe('Default API base URL; override with KEYHOLD_PROVIDER_<ID>_BASE_URL. May contain {{config field}} placeholders.'),
  credentialFields: z.array(CatalogFieldSchema),
  configFields: z.array(CatalogFieldSchema).optional(),
  inject: InjectSchema,
  verify: VerifySchema.optional(),
  rateLimits: RateLimitsSchema.optional(),
  webhooks: WebhooksSchema.optional(),
  oauth: OAuthSchema.optional(),
}).superRefine((p, ctx) => {
  if (p.docs !== `docs/providers/${p.id}.md`) ctx.addIssue({ code: 'custom', path: ['docs'], message: `must be docs/providers/${p.id}.md` });
  for (const [i, f] of p.credentialFields.entries()) {
    if (f.default !== undefined) ctx.addIssue({ code: 'custom', path: ['credentialFields', i, 'default'], message: 'only non-secret config fields may have a default' });
  }
  for (const [i, f] of (p.configFields ?? []).entries()) {
    if (f.default !== undefined && f.secret) ctx.addIssue({ code: 'custom', path: ['configFields', i, 'default'], message: 'only non-secret config fields may have a default' });
    if (f.default !== undefined && f.pattern && !new RegExp(f.pattern).test(f.default)) ctx.addIssue({ code: 'custom', path: ['configFields', i, 'default'], message: 'does not match the field\'s pattern' });
  }
  const key = p.oauth?.routingKeyField;
  if (key !== undefined && !(p.configFields ?? []).some((f) => f.name === key && !f.secret)) {
    ctx.addIssue({ code: 'custom', path: ['oauth', 'routingKeyField'], message: `'${key}' is not a non-secret config field of this provider` });
  }
  const nonSecret = new Set((p.configFields ?? []).filter((f) => !f.secret).map((f) => f.name));
  for (const [figure, field] of Object.entries(p.rateLimits?.fromConfig ?? {})) {
    if (!nonSecret.has(field!)) ctx.addIssue({ code: 'custom', path: ['rateLimits', 'fromConfig', figure], message: `'${field}' is not a non-secret config field of this provider` });
  }
  const names = (p.rateLimits?.operations ?? []).map((o) => o.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice) ctx.addIssue({ code: 'custom', path: ['rateLimits', 'operations'], message: `operation '${twice}' is listed twice` });
}).meta({ title: 'Keyhold provider catalog entry' });

export type CatalogField = z.infer<typeof CatalogFieldSchema>;
/** One provider, as `catalog/providers/<id>.yaml` describes it. */
export type Provider = z.infer<typeof CatalogEntrySchema>;
export type OAuthSpec = z.infer<typeof OAuthSchema>;

/** `credentialFields[0].name`: where in an entry a problem is. */
export const issuePath = (path: ReadonlyArray<PropertyKey>) =>
  path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${String(k)}` : String(k)), '');

/** Validates one parsed entry; the problems name the path inside the entry. */
export function validateProvider(entry: unknown): { ok: true; provider: Provider } | { ok: false; problems: string } {
  const result = CatalogEntrySchema.safeParse(entry);
  if (result.success) return { ok: true, provider: result.data };
  const problems = result.error.issues.map((i) => (i.path.length ? `${issuePath(i.path)}: ${i.message}` : i.message)).join('; ');
  return { ok: false, problems };
}
