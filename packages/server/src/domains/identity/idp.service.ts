import type { Clock } from '../../platform/clock.js';
import type { PrincipalCtx, RequestMeta } from '../../platform/context.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { IdpConfig } from '../../platform/idp-config.js';
import type { AuditService } from '../audit/audit.service.js';
import { assertTenantOpen } from '../tenants/tenants.service.js';
import { type IdpIdentity, identityFrom } from './idp-claims.js';
import type { IdpRepo } from './idp.repo.js';
import type { IdpTokenVerifier } from './idp-tokens.js';
import type { IdentityRepo } from './identity.repo.js';
import type { TenantPrincipal } from './principal.js';

export type IdpAuthDeps = {
  config: IdpConfig;
  verifier: IdpTokenVerifier;
  repo: IdpRepo;
  users: Pick<IdentityRepo, 'insertUser' | 'userByEmail' | 'countUsers' | 'tenantMaxUsersForUpdate'>;
  tenancy: Tenancy;
  audit: Pick<AuditService, 'record'>;
  clock: Clock;
};

type LinkedUser = NonNullable<Awaited<ReturnType<IdpRepo['linkedUser']>>>;

const unknownTenant = () => new AppError('IDP_TENANT_UNKNOWN', "No organization on this Keyhold matches the identity provider's organisation");

/**
 * Signs in the SaaS's own users with the identity provider's access tokens (docs/identity-provider.md).
 * Each request: the token is verified (issuer, audience, pinned algorithms, expiry), its
 * organisation names the tenant, its subject the user — linked by (issuer, subject), created on
 * first sight — and its role claim is the role for this request, also written to the user so
 * lists and audit agree. The tenant's status and the user's `is_active` are read on every request,
 * so suspending the tenant or disabling the user in Keyhold takes effect on the next one.
 */
export function createIdpAuth(deps: IdpAuthDeps) {
  const { config, repo, audit, clock } = deps;
  const ctxOf = (tenantId: string, userId: string, meta: RequestMeta): PrincipalCtx => ({ ...meta, tenantId, actor: { type: 'user', id: userId } });
  const idpMeta = (id: IdpIdentity) => ({ issuer: id.issuer, subject: id.subject });

  /**
   * Creates the user of an identity seen for the first time. First sights of one tenant take turns
   * on its row lock (the one that also guards `max_users`), so a burst of first requests creates
   * one user. An existing account with the same email is never linked: email alone proves nothing
   * about who holds it here (a local account, another IdP's user).
   */
  async function firstSight(tx: TenantTx, tenantId: string, id: IdpIdentity, meta: RequestMeta): Promise<LinkedUser> {
    const max = await deps.users.tenantMaxUsersForUpdate(tx);
    const raced = await repo.linkedUser(tx, id.issuer, id.subject);
    if (raced) return raced;
    if (!id.email) throw new AppError('IDP_CLAIM_MISSING', `The identity provider's token has no email (claim '${config.claims.email}'); Keyhold needs it to create the user`);
    if (await deps.users.userByEmail(tx, id.email)) {
      throw new AppError('IDP_USER_CONFLICT', 'An account with this email already exists in this organization and is not linked to your identity provider; an administrator must remove it first');
    }
    if ((await deps.users.countUsers(tx)) >= max) throw new AppError('QUOTA_EXCEEDED', `This organization's plan allows ${max} users; remove one or upgrade to add more`);
    const user = await deps.users.insertUser(tx, { tenant_id: tenantId, email: id.email, role: id.role, password_hash: null });
    await repo.insertIdentity(tx, { tenant_id: tenantId, user_id: user.id, ...idpMeta(id) });
    await audit.record(ctxOf(tenantId, user.id, meta), { action: 'user.idp_create', entity: { type: 'user', id: user.id }, metadata: { email: id.email, role: id.role, ...idpMeta(id) } }, tx);
    return { id: user.id, role: user.role, is_active: user.is_active };
  }

  async function authenticate(token: string, meta: RequestMeta): Promise<TenantPrincipal> {
    const id = identityFrom(await deps.verifier.verify(token), config, clock());
    const tenantId = await repo.tenantIdByOrg(config.orgMatch, id.org);
    if (!tenantId) throw unknownTenant();
    const user = await deps.tenancy.withTenant(tenantId, async (tx) => {
      const tenant = await repo.tenantStanding(tx);
      if (!tenant || tenant.deleted_at) throw unknownTenant();
      assertTenantOpen(tenant.status);
      const linked = (await repo.linkedUser(tx, id.issuer, id.subject)) ?? (await firstSight(tx, tenantId, id, meta));
      if (!linked.is_active) throw new AppError('FORBIDDEN', 'Your account is disabled in this organization');
      if (linked.role !== id.role && (await repo.syncRole(tx, linked.id, id.role))) {
        await audit.record(ctxOf(tenantId, linked.id, meta), { action: 'user.idp_role_sync', entity: { type: 'user', id: linked.id }, metadata: { from: linked.role, to: id.role, ...idpMeta(id) } }, tx);
      }
      return linked;
    });
    return { ...ctxOf(tenantId, user.id, meta), tenantId, role: id.role, userId: user.id, idp: { ...idpMeta(id), mfa: id.mfa } };
  }

  return { claimsIssuer: deps.verifier.claimsIssuer, authenticate };
}
export type IdpAuth = ReturnType<typeof createIdpAuth>;
