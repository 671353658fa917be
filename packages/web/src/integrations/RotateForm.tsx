import { Button, Group, PasswordInput, Stack, Text } from '@mantine/core';
import { useForm } from '@mantine/form';
import type { Provider } from '../api/types';
import { credentialBody, fieldError } from './fields';

/** The new secrets of a rotation; what happens with them (MFA, the PUT) is the caller's. */
export function RotateForm({ provider, onSubmit }: { provider: Provider; onSubmit: (body: { apiKey?: string; apiSecret?: string }) => void }) {
  const secrets = provider.credentialFields.filter((f) => f.secret);
  const form = useForm<Record<string, string>>({
    initialValues: Object.fromEntries(secrets.map((f) => [f.name, ''])),
    validate: Object.fromEntries(secrets.map((f) => [f.name, (v: string) => fieldError(f, v)])),
  });
  return (
    <form onSubmit={form.onSubmit((v) => {
      const { apiKey, apiSecret } = credentialBody(provider, v);
      onSubmit({ ...(apiKey ? { apiKey } : {}), ...(apiSecret ? { apiSecret } : {}) });
    })} noValidate>
      <Stack gap="sm">
        <Text size="sm">The new credentials are tested with {provider.displayName} before they replace the old ones.</Text>
        {secrets.map((f) => (
          <PasswordInput key={f.name} label={`New ${f.label.toLowerCase()}`} placeholder={f.example} required={f.required} autoComplete="off" {...form.getInputProps(f.name)} />
        ))}
        <Group justify="flex-end"><Button type="submit">Continue</Button></Group>
      </Stack>
    </form>
  );
}
