import { Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Provider } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { AUTHORIZE_PARAMS, LABEL_PATTERN, fieldError } from './fields';

/** Asks what the consent screen cannot (a label, a store domain), then hands the browser to the provider. */
export function OAuthConnectForm({ provider, takenLabels }: { provider: Provider; takenLabels: string[] }) {
  const params = provider.configFields.filter((f) => (AUTHORIZE_PARAMS as readonly string[]).includes(f.name));
  const form = useForm<Record<string, string>>({
    initialValues: { label: takenLabels.includes('default') ? '' : 'default', ...Object.fromEntries(params.map((f) => [f.name, f.default ?? ''])) },
    validate: {
      label: (v) => (!v || !LABEL_PATTERN.test(v) ? 'Letters, digits, space, . _ - (up to 63)' : takenLabels.includes(v) ? 'Another connection already has this label' : null),
      ...Object.fromEntries(params.map((f) => [f.name, (v: string) => fieldError(f, v)])),
    },
  });
  const start = useMutation({
    mutationFn: (v: Record<string, string>) => {
      const q = new URLSearchParams(Object.entries(v).filter(([, x]) => x.trim()).map(([k, x]) => [k, x.trim()]));
      return api<{ authUrl: string }>('GET', `/api/integrations/${encodeURIComponent(provider.id)}/authorize?${q}`);
    },
    onSuccess: ({ authUrl }) => window.location.assign(authUrl),
  });
  return (
    <form onSubmit={form.onSubmit((v) => start.mutate(v))} noValidate>
      <Stack gap="sm">
        <Text size="sm">You will sign in at {provider.displayName} and come back here when you have allowed access.</Text>
        <TextInput label="Label" description="Tells several accounts of one provider apart" required {...form.getInputProps('label')} />
        {params.map((f) => (
          <TextInput key={f.name} label={f.label} description={f.help} placeholder={f.example} required={f.required} {...form.getInputProps(f.name)} />
        ))}
        <ErrorAlert error={start.error} title="Could not start" />
        <Group justify="flex-end">
          <Button type="submit" loading={start.isPending || start.isSuccess}>Continue to {provider.displayName}</Button>
        </Group>
      </Stack>
    </form>
  );
}
