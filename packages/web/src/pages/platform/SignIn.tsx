import { Button, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { AuthCard } from '../../components/AuthCard';
import { ErrorAlert } from '../../components/ErrorAlert';
import { usePlatformSession } from '../../platform/session';

export function PlatformSignInPage() {
  const { signIn, completeMfa } = usePlatformSession();
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { email: '', password: '', code: '' },
    validate: {
      email: (v) => (/^\S+@\S+$/.test(v) ? null : 'Enter your email address'),
      password: (v) => (v ? null : 'Enter your password'),
      code: (v) => (mfaToken && !v.trim() ? 'Enter the code' : null),
    },
  });
  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      if (mfaToken) await completeMfa({ mfaToken, code: v.code.trim() });
      else {
        const challenge = await signIn({ email: v.email.trim(), password: v.password });
        if (challenge) setMfaToken(challenge.mfaToken);
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });
  return (
    <AuthCard title={mfaToken ? 'Two-step verification' : 'Platform sign-in'} subtitle={mfaToken ? 'Enter the 6-digit code from your authenticator app.' : 'For Keyhold operators: tenants, health and keys.'}>
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <ErrorAlert error={error} title="Sign-in failed" />
          {mfaToken ? (
            <TextInput label="Verification code" inputMode="numeric" autoComplete="one-time-code" data-autofocus autoFocus required {...form.getInputProps('code')} />
          ) : (
            <>
              <TextInput label="Email" type="email" autoComplete="username" required {...form.getInputProps('email')} />
              <PasswordInput label="Password" autoComplete="current-password" required {...form.getInputProps('password')} />
            </>
          )}
          <Button type="submit" loading={busy} fullWidth>{mfaToken ? 'Verify' : 'Sign in'}</Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
