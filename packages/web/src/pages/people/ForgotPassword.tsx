import { Alert, Anchor, Button, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { AuthCard } from '../../components/AuthCard';
import { ErrorAlert } from '../../components/ErrorAlert';

/** Asks for a reset link; the answer is the same whether or not the account exists. */
export function ForgotPasswordPage() {
  const form = useForm({
    initialValues: { tenant: '', email: '' },
    validate: {
      tenant: (v) => (v.trim() ? null : 'Enter your organization'),
      email: (v) => (/^\S+@\S+$/.test(v) ? null : 'Enter your email address'),
    },
  });
  const forgot = useMutation({ mutationFn: (v: typeof form.values) => api('POST', '/api/auth/password/forgot', { body: { tenant: v.tenant.trim(), email: v.email.trim() } }) });
  return (
    <AuthCard title="Reset your password" subtitle="We email you a link that works once, for 30 minutes.">
      {forgot.isSuccess ? (
        <Alert color="blue" title="Check your email">If that account exists, an email with a link to reset its password is on its way.</Alert>
      ) : (
        <form onSubmit={form.onSubmit((v) => forgot.mutate(v))} noValidate>
          <Stack gap="sm">
            <ErrorAlert error={forgot.error} title="Not sent" />
            <TextInput label="Organization" description="Your workspace address, e.g. acme" autoComplete="organization" required {...form.getInputProps('tenant')} />
            <TextInput label="Email" type="email" autoComplete="username" required {...form.getInputProps('email')} />
            <Button type="submit" loading={forgot.isPending} fullWidth>Email me a link</Button>
          </Stack>
        </form>
      )}
      <Text size="sm" ta="center"><Anchor component={Link} to="/sign-in">Back to sign-in</Anchor></Text>
    </AuthCard>
  );
}
