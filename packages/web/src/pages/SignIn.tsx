import { Anchor, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { Link } from 'react-router';
import { useSignupMode } from '../api/queries';
import { useSession } from '../auth/session';
import { AuthCard } from '../components/AuthCard';
import { ErrorAlert } from '../components/ErrorAlert';

export function SignInPage() {
  const [mfaToken, setMfaToken] = useState<string | null>(null);
  return mfaToken ? <MfaStep mfaToken={mfaToken} onBack={() => setMfaToken(null)} /> : <PasswordStep onMfa={setMfaToken} />;
}

function PasswordStep({ onMfa }: { onMfa: (token: string) => void }) {
  const { signIn } = useSession();
  const signupMode = useSignupMode();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { tenant: '', email: '', password: '' },
    validate: {
      tenant: (v) => (v.trim() ? null : 'Enter your organization'),
      email: (v) => (/^\S+@\S+$/.test(v) ? null : 'Enter your email address'),
      password: (v) => (v ? null : 'Enter your password'),
    },
  });
  const submit = form.onSubmit(async (values) => {
    setBusy(true);
    setError(null);
    try {
      const challenge = await signIn({ ...values, tenant: values.tenant.trim() });
      // Signed in: the signed-out guard (app.tsx) takes the person where they were going.
      if (challenge) onMfa(challenge.mfaToken);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });
  return (
    <AuthCard title="Sign in" subtitle="Manage your organization's connected accounts.">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <ErrorAlert error={error} title="Sign-in failed" />
          <TextInput label="Organization" description="Your workspace address, e.g. acme" autoComplete="organization" required {...form.getInputProps('tenant')} />
          <TextInput label="Email" type="email" autoComplete="username" required {...form.getInputProps('email')} />
          <PasswordInput label="Password" autoComplete="current-password" required {...form.getInputProps('password')} />
          <Anchor component={Link} to="/forgot-password" size="sm">Forgot your password?</Anchor>
          <Button type="submit" loading={busy} fullWidth>Sign in</Button>
          {signupMode.data && signupMode.data.mode !== 'closed' ? (
            <Text size="sm" ta="center">
              New to Keyhold? <Anchor component={Link} to="/sign-up">Create an organization</Anchor>
            </Text>
          ) : null}
        </Stack>
      </form>
    </AuthCard>
  );
}

function MfaStep({ mfaToken, onBack }: { mfaToken: string; onBack: () => void }) {
  const { completeMfa } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({ initialValues: { code: '' }, validate: { code: (v) => (v.trim() ? null : 'Enter the code') } });
  const submit = form.onSubmit(async ({ code }) => {
    setBusy(true);
    setError(null);
    try {
      await completeMfa({ mfaToken, code: code.trim() });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });
  return (
    <AuthCard title="Two-step verification" subtitle="Enter the 6-digit code from your authenticator app, or one of your recovery codes.">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <ErrorAlert error={error} title="Verification failed" />
          <TextInput label="Verification code" inputMode="numeric" autoComplete="one-time-code" data-autofocus autoFocus required {...form.getInputProps('code')} />
          <Button type="submit" loading={busy} fullWidth>Verify</Button>
          <Button variant="subtle" onClick={onBack}>Back</Button>
        </Stack>
      </form>
    </AuthCard>
  );
}
