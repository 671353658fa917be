import { Alert, Anchor, Button, PasswordInput, Stack, Text } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { AuthCard } from '../../components/AuthCard';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useTokenFromHash } from '../../people/tokenFromHash';

type Props = { kind: 'reset' | 'invite' };

const TEXT = {
  reset: { title: 'Choose a new password', subtitle: 'Every session of your account ends; sign in again after.', url: '/api/auth/password/reset', done: 'Your password is changed.', missing: 'This page needs the link from your password reset email.' },
  invite: { title: 'Accept your invitation', subtitle: 'Choose the password you will sign in with.', url: '/api/auth/invite/accept', done: 'Your account is ready.', missing: 'This page needs the link from your invitation email.' },
} as const;

/** Lands from an emailed link (`/admin/reset-password#token=…`, `/admin/accept-invite#token=…`). */
export function SetPasswordPage({ kind }: Props) {
  const t = TEXT[kind];
  const token = useTokenFromHash();
  const form = useForm({
    initialValues: { password: '', confirm: '' },
    validate: {
      password: (v) => (v.length >= 12 ? null : 'At least 12 characters'),
      confirm: (v, all) => (v === all.password ? null : 'The two passwords differ'),
    },
  });
  const save = useMutation({ mutationFn: (password: string) => api('POST', t.url, { body: { token, password } }) });
  return (
    <AuthCard title={t.title} subtitle={t.subtitle}>
      {!token ? <Alert color="yellow" title="No link">{t.missing}</Alert>
        : save.isSuccess ? <Alert color="green" title="Done">{t.done} <Anchor component={Link} to="/sign-in">Sign in</Anchor>.</Alert>
        : (
          <form onSubmit={form.onSubmit((v) => save.mutate(v.password))} noValidate>
            <Stack gap="sm">
              <ErrorAlert error={save.error} title="Not changed" />
              <PasswordInput label="New password" description="12 characters or more" autoComplete="new-password" required data-autofocus {...form.getInputProps('password')} />
              <PasswordInput label="Repeat the new password" autoComplete="new-password" required {...form.getInputProps('confirm')} />
              <Button type="submit" loading={save.isPending} fullWidth>Save password</Button>
            </Stack>
          </form>
        )}
      <Text size="sm" ta="center"><Anchor component={Link} to="/sign-in">Back to sign-in</Anchor></Text>
    </AuthCard>
  );
}
