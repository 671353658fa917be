import type { CommandContext } from './command.js';
import { CliError, operatorCtx, resolveTenant, withServices } from './operator.js';

/**
 * `keyhold users reset-password --tenant T --email E [--print]`: with a platform email sender the
 * user gets the reset link by email (nothing secret on the operator's screen); without one, or with
 * --print, the operator gets a temporary password to hand over, which the user must change.
 */
export async function runUsersResetPassword({ config, log, values }: CommandContext): Promise<number> {
  if (!values.tenant || !values.email) throw new CliError('--tenant and --email are required');
  const email = String(values.email);
  return withServices(config, log, async (services) => {
    const tenantId = await resolveTenant(services, String(values.tenant));
    const noUser = () => new CliError(`No active user ${email} in tenant '${values.tenant}'`);
    if (config.email && !values.print) {
      if (!(await services.passwordReset.sendLinkAsOperator(operatorCtx(), tenantId, email))) throw noUser();
      await services.notifications.idle();
      process.stdout.write(`Sent a password reset link to ${email} (valid 30 minutes, single use).\n`);
      return 0;
    }
    const password = await services.passwordReset.setTemporaryPassword(operatorCtx(), tenantId, email);
    if (!password) throw noUser();
    process.stdout.write(`${password}\n`);
    process.stderr.write(`Temporary password for ${email} above (shown once). Every session of the user was ended; they must choose a new password after signing in.\n`);
    return 0;
  });
}
