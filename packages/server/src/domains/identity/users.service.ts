import { randomBytes } from 'node:crypto';
import { type Pagination, paginate } from '@keyhold/contract';
import { z } from 'zod';
import type { Clock } from '../../platform/clock.js';
import type { RequestMeta } from '../../platform/context.js';
import { isUniqueViolation } from '../../platform/db/errors.js';
import { USER_ROLES, type UserRole } from '../../platform/db/schema.js';
import type { Tenancy, TenantTx } from '../../platform/db/tenancy.js';
import { AppError } from '../../platform/errors.js';
import type { AuditService } from '../audit/audit.service.js';
import type { Sessions } from '../sessions/sessions.service.js';
import type { IdentityRepo, UserRow } from './identity.repo.js';
import { assertPasswordPolicy, hashPassword } from './passwords.js';
import { mayGrant } from './access.js';
import { ROLE_RANK, type TenantPrincipal, assertRole } from './principal.js';
import { newOpaqueToken, sha256 } from './tokens.js';
import { type User, toUser } from './users.view.js';

const INVITE_TTL_MS = 7 * 86_400_000;

export const InviteUserInput = z.object({
  email: z.string().trim().toLowerCase().email().max(254),
  role: z.enum(USER_ROLES).default('member'),
  method: z.enum(['temporary_password', 'invite_token']).default('invite_token'),
});
export const UpdateUserInput = z
  .object({ role: z.enum(USER_ROLES).optional(), isActive: z.boolean().optional() })
  .refine((v) => v.role !== undefined || v.isActive !== undefined, 'give role and/or isActive');
export const AcceptInviteInput = z.object({ token: z.string().startsWith('khi_').max(200), password: z.string() });

export type UsersDeps = {
  repo: IdentityRepo;
  tenancy: Tenancy;
  audit: Pick<AuditService, 'record'>;
  sessions: Pick<Sessions, 'endAll'>;
  clock: Clock;
  /** Emails an invitation's link (written in the invitation's transaction, sent after commit). */
  invitationMail?: {
    enqueue(tx: TenantTx, m: { to: string; role: UserRole; acceptUrl: string }): Promise<string | null>;
    sendSoon(tenantId: string, id: string | null): void;
  };
  /** Where the accept page is: `<publicUrl>/admin/accept-invite#token=…`. */
  publicUrl?: string;
};

const notFound = () => new AppError('NOT_FOUND', 'User not found');
const lastOwner = () => new AppError('CONFLICT', 'An organization must keep at least one active owner');

export function createUsersService(deps: UsersDeps) {
  const { repo, tenancy, audit, clock } = deps;

  /** Admins manage admins, members and viewers; only an owner grants, changes or removes an owner. */
  function assertMayManage(p: TenantPrincipal, ...roles: UserRole[]) {
    assertRole(p, 'admin');
    if (roles.includes('owner')) assertRole(p, 'owner');
    if (roles.some((r) => ROLE_RANK[r] > ROLE_RANK[p.role])) assertRole(p, 'owner');
  }

  /** Giving someone a role, or acting on someone who holds one, must not out-power the caller. */
  function assertMayGrant(p: TenantPrincipal, role: UserRole) {
    if (mayGrant(p, { role })) return;
    throw new AppError('FORBIDDEN', p.scopes
      ? `An API key can give, change or remove the ${role} role only when it could do everything that role can`
      : `You cannot give the ${role} role`);
  }

  /** Refuses a change that would leave the tenant without an active owner. */
  async function assertKeepsAnOwner(tx: TenantTx, target: UserRow, stillOwner: boolean) {
    if (target.role !== 'owner' || !target.is_active || stillOwner) return;
    const owners = await repo.lockActiveOwners(tx);
    if (owners.filter((o) => o.id !== target.id).length === 0) throw lastOwner();
  }

  async function list(p: TenantPrincipal, page: number, limit: number): Promise<{ items: User[]; pagination: Pagination }> {
    assertRole(p, 'admin');
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const [rows, total] = await Promise.all([repo.listUsers(tx, limit, (page - 1) * limit), repo.countUsers(tx)]);
      return { items: rows.map(toUser), pagination: paginate(page, limit, total) };
    });
  }

  /** Adds a user with a one-time temporary password or an invitation token (each shown once). */
  async function invite(p: TenantPrincipal, input: z.input<typeof InviteUserInput>) {
    const data = InviteUserInput.parse(input);
    assertMayManage(p, data.role);
    assertMayGrant(p, data.role);
    const temporaryPassword = data.method === 'temporary_password' ? randomBytes(15).toString('base64url') : undefined;
    const passwordHash = temporaryPassword ? await hashPassword(temporaryPassword) : null;
    const invite = data.method === 'invite_token' ? newOpaqueToken('khi_') : undefined;
    try {
      return await tenancy.withTenant(p.tenantId, async (tx) => {
        const max = await repo.tenantMaxUsersForUpdate(tx);
        if ((await repo.countUsers(tx)) >= max) {
          throw new AppError('QUOTA_EXCEEDED', `Your plan allows ${max} users; remove one or upgrade to add more`);
        }
        const row = await repo.insertUser(tx, {
          tenant_id: p.tenantId,
          email: data.email,
          role: data.role,
          password_hash: passwordHash,
          must_change_password: temporaryPassword !== undefined,
          invite_token_hash: invite?.hash ?? null,
          invite_expires_at: invite ? new Date(clock().getTime() + INVITE_TTL_MS) : null,
        });
        await audit.record(p, { action: 'user.invite', entity: { type: 'user', id: row.id }, metadata: { email: data.email, role: data.role, method: data.method } }, tx);
        const mailId = invite && deps.invitationMail
          ? await deps.invitationMail.enqueue(tx, { to: data.email, role: data.role, acceptUrl: `${deps.publicUrl ?? ''}/admin/accept-invite#token=${invite.token}` })
          : null;
        return { user: toUser(row), ...(temporaryPassword ? { temporaryPassword } : {}), ...(invite ? { inviteToken: invite.token } : {}), mailId };
      }).then(({ mailId, ...result }) => {
        deps.invitationMail?.sendSoon(p.tenantId, mailId);
        return result;
      });
    } catch (err) {
      if (isUniqueViolation(err, 'users_email_per_tenant')) throw new AppError('CONFLICT', `A user with email '${data.email}' already exists`);
      throw err;
    }
  }

  async function update(p: TenantPrincipal, id: string, input: z.input<typeof UpdateUserInput>): Promise<User> {
    const data = UpdateUserInput.parse(input);
    return tenancy.withTenant(p.tenantId, async (tx) => {
      const target = await repo.userById(tx, id, { lock: true });
      if (!target) throw notFound();
      assertMayManage(p, target.role, ...(data.role ? [data.role] : []));
      // A key acts only on people it could have created, and gives only roles it could give.
      assertMayGrant(p, target.role);
      if (data.role) assertMayGrant(p, data.role);
      await assertKeepsAnOwner(tx, target, (data.role ?? target.role) === 'owner' && (data.isActive ?? target.is_active));
      const row = await repo.updateUser(tx, id, { ...(data.role ? { role: data.role } : {}), ...(data.isActive !== undefined ? { is_active: data.isActive } : {}) });
      if (data.isActive === false) await deps.sessions.endAll(tx, id, 'user_disabled');
      await audit.record(p, { action: 'user.update', entity: { type: 'user', id }, metadata: { from: { role: target.role, isActive: target.is_active }, to: data } }, tx);
      return toUser(row);
    });
  }

  async function remove(p: TenantPrincipal, id: string): Promise<void> {
    await tenancy.withTenant(p.tenantId, async (tx) => {
      const target = await repo.userById(tx, id, { lock: true });
      if (!target) throw notFound();
      assertMayManage(p, target.role);
      assertMayGrant(p, target.role);
      await assertKeepsAnOwner(tx, target, false);
      await repo.deleteUser(tx, id);
      await audit.record(p, { action: 'user.delete', entity: { type: 'user', id }, metadata: { email: target.email, role: target.role } }, tx);
    });
  }

  /** An invited user sets a password; the token is single use and expires after 7 days. */
  async function acceptInvite(meta: RequestMeta, input: z.input<typeof AcceptInviteInput>): Promise<User> {
    const data = AcceptInviteInput.parse(input);
    assertPasswordPolicy(data.password);
    const hash = sha256(data.token);
    const tenantId = await repo.inviteTenant(hash);
    const invalid = new AppError('TOKEN_INVALID', 'This invitation is not valid or has expired');
    if (!tenantId) throw invalid;
    const passwordHash = await hashPassword(data.password);
    return tenancy.withTenant(tenantId, async (tx) => {
      const user = await repo.userByInviteHash(tx, hash);
      if (!user || !user.invite_expires_at || user.invite_expires_at <= clock()) throw invalid;
      const row = await repo.updateUser(tx, user.id, { password_hash: passwordHash, invite_token_hash: null, invite_expires_at: null, must_change_password: false });
      await audit.record({ ...meta, tenantId, actor: { type: 'user', id: user.id } }, { action: 'user.invite_accept', entity: { type: 'user', id: user.id } }, tx);
      return toUser(row);
    });
  }

  return { list, invite, update, remove, acceptInvite };
}
export type UsersService = ReturnType<typeof createUsersService>;
