import type { OperatorResetRefusal } from '../domains/identity/password-reset.js';
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
    const refusal = (why: OperatorResetRefusal) => new CliError({
      no_user: `No active user ${email} in tenant '${values.tenant}'`,
      invitation_pending: `${email} has not accepted their invitation yet: there is no password to reset (invite them again from the console)`,
      identity_provider: `${email} signs in through the identity provider; reset their password there`,
    }[why]);
    if (config.email && !values.print) {
      const refused = await services.passwordReset.sendLinkAsOperator(operatorCtx(), tenantId, email);
      if (refused) throw refusal(refused);
      await services.notifications.idle();
      process.stdout.write(`Sent a password reset link to ${email} (valid 30 minutes, single use).\n`);
      return 0;
    }
    const result = await services.passwordReset.setTemporaryPassword(operatorCtx(), tenantId, email);
    if ('refused' in result) throw refusal(result.refused);
    process.stdout.write(`${result.password}\n`);
    process.stderr.write(`Temporary password for ${email} above (shown once). Every session of the user was ended; they must choose a new password after signing in.\n`);
    return 0;
  });
}
