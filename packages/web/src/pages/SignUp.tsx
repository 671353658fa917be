import { Alert, Anchor, Button, PasswordInput, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useSignupMode } from '../api/queries';
import { useSession } from '../auth/session';
import { AuthCard } from '../components/AuthCard';
import { ErrorAlert } from '../components/ErrorAlert';

/** Creating an organization; the operator's sign-up mode (open, invitation, closed) is the server's answer. */
export function SignUpPage() {
  const { signUp } = useSession();
  const mode = useSignupMode().data?.mode;
  const [params] = useSearchParams();
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({
    initialValues: { organizationName: '', slug: '', email: '', password: '', invitation: params.get('invitation') ?? '' },
    validate: {
      organizationName: (v) => (v.trim() ? null : 'Enter a name'),
      slug: (v) => (!v || /^[a-z0-9][a-z0-9-]{1,62}$/.test(v) ? null : 'Lowercase letters, digits and dashes'),
      email: (v) => (/^\S+@\S+$/.test(v) ? null : 'Enter your email address'),
      password: (v) => (v.length >= 12 ? null : 'At least 12 characters'),
      invitation: (v) => (mode === 'invite' && !v.trim() ? 'Sign-up here is by invitation: paste yours' : null),
    },
  });
  const submit = form.onSubmit(async (v) => {
    setBusy(true);
    setError(null);
    try {
      await signUp({
        organizationName: v.organizationName.trim(),
        email: v.email,
        password: v.password,
        ...(v.slug ? { slug: v.slug } : {}),
        ...(v.invitation ? { invitation: v.invitation.trim() } : {}),
      });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  });
  if (mode === 'closed') {
    return (
      <AuthCard title="Create an organization">
        <Alert color="blue" title="Sign-up is closed">The operator of this Keyhold creates organizations. Ask them for an invitation or an account.</Alert>
        <Anchor component={Link} to="/sign-in" size="sm">Back to sign-in</Anchor>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Create an organization" subtitle="You become its owner.">
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <ErrorAlert error={error} title="Sign-up failed" />
          <TextInput label="Organization name" autoComplete="organization" required {...form.getInputProps('organizationName')} />
          <TextInput label="Workspace address" description="Used to sign in; derived from the name when empty" {...form.getInputProps('slug')} />
          <TextInput label="Email" type="email" autoComplete="email" required {...form.getInputProps('email')} />
          <PasswordInput label="Password" description="12 characters or more" autoComplete="new-password" required {...form.getInputProps('password')} />
          {mode === 'invite' ? <TextInput label="Invitation" description="The invitation the operator sent you (khs_…)" required {...form.getInputProps('invitation')} /> : null}
          <Button type="submit" loading={busy} fullWidth>Create organization</Button>
          <Text size="sm" ta="center">
            Already have an account? <Anchor component={Link} to="/sign-in">Sign in</Anchor>
          </Text>
        </Stack>
      </form>
    </AuthCard>
  );
}
