import { Anchor, Button, PasswordInput, Stack, Text } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation } from '@tanstack/react-query';
import { api } from '../../api/client';
import { useSession } from '../../auth/session';
import { AuthCard } from '../../components/AuthCard';
import { ErrorAlert } from '../../components/ErrorAlert';

/**
 * Shown before anything else while the account holds a temporary password (an operator's reset,
 * an invitation with one): the server opens nothing else until the person chooses their own.
 */
export function ChangePasswordPage() {
  const session = useSession();
  const form = useForm({
    initialValues: { currentPassword: '', newPassword: '', confirm: '' },
    validate: {
      currentPassword: (v) => (v ? null : 'The temporary password you signed in with'),
      newPassword: (v) => (v.length >= 12 ? null : 'At least 12 characters'),
      confirm: (v, all) => (v === all.newPassword ? null : 'The two passwords differ'),
    },
  });
  const save = useMutation({
    mutationFn: (v: typeof form.values) => api('POST', '/api/auth/password', { body: { currentPassword: v.currentPassword, newPassword: v.newPassword } }),
    onSuccess: () => session.passwordChanged(),
  });
  return (
    <AuthCard title="Choose your password" subtitle="You signed in with a temporary password. Choose your own to continue.">
      <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate>
        <Stack gap="sm">
          <ErrorAlert error={save.error} title="Not changed" />
          <PasswordInput label="Current password" description="The temporary password you were given" autoComplete="current-password" required data-autofocus {...form.getInputProps('currentPassword')} />
          <PasswordInput label="New password" description="12 characters or more" autoComplete="new-password" required {...form.getInputProps('newPassword')} />
          <PasswordInput label="Repeat the new password" autoComplete="new-password" required {...form.getInputProps('confirm')} />
          <Button type="submit" loading={save.isPending} fullWidth>Change password</Button>
        </Stack>
      </form>
      <Text size="sm" ta="center"><Anchor component="button" type="button" onClick={() => void session.signOut()}>Sign out</Anchor></Text>
    </AuthCard>
  );
}
