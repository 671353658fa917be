import type { Config } from '../platform/config.js';
import { systemActor } from '../platform/context.js';
import type { Logger } from '../platform/logger.js';
import { withPlatformServices } from './admin-create.js';

/** `keyhold admin invite-org [--email E] [--days N]`: a single-use invitation to create an organization. */
export async function runAdminInviteOrg(config: Config, log: Logger, opts: { email?: string; days?: string }): Promise<number> {
  if (opts.days !== undefined && !/^\d+$/.test(opts.days)) {
    process.stderr.write('Usage: keyhold admin invite-org [--email <email>] [--days <1-30>]\n');
    return 2;
  }
  return withPlatformServices(config, log, async (services) => {
    const invitation = await services.signupInvitations.issue({ tenantId: null, actor: systemActor }, {
      ...(opts.email ? { email: opts.email } : {}),
      ...(opts.days ? { expiresInDays: Number(opts.days) } : {}),
    });
    process.stdout.write(`${invitation.token}\n`);
    const who = invitation.email ? `${invitation.email} only` : 'anyone holding it';
    process.stderr.write(`Single-use invitation to create an organization (${who}), valid until ${invitation.expiresAt}.\n` +
      `Pass it as "invitation" to POST /api/auth/signup (KEYHOLD_SIGNUP=invite). It is not shown again.\n`);
    return 0;
  });
}
