import { Button, Group, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useMutation } from '@tanstack/react-query';
import type { Provider } from '../api/types';
import { AUTHORIZE_PARAMS, fieldError } from '../integrations/fields';
import { connectApi } from './api';
import { ProblemAlert } from './ProblemAlert';

/** Asks what the consent screen cannot (a store domain…), then hands the browser to the provider. */
export function ConnectOAuthForm({ token, provider }: { token: string; provider: Provider }) {
  const params = provider.configFields.filter((f) => (AUTHORIZE_PARAMS as readonly string[]).includes(f.name));
  const form = useForm<Record<string, string>>({
    initialValues: Object.fromEntries(params.map((f) => [f.name, f.default ?? ''])),
    validate: Object.fromEntries(params.map((f) => [f.name, (v: string) => fieldError(f, v)])),
  });
  const start = useMutation({
    mutationFn: (v: Record<string, string>) =>
      connectApi<{ authUrl: string }>(token, 'POST', `/api/connect/session/oauth/${encodeURIComponent(provider.id)}`, Object.fromEntries(Object.entries(v).filter(([, x]) => x.trim()).map(([k, x]) => [k, x.trim()]))),
    onSuccess: ({ authUrl }) => window.location.assign(authUrl),
  });
  // Consent screens refuse to be framed, and the flow's browser cookie is not sent to a frame.
  const framed = window.parent !== window;
  return (
    <form onSubmit={form.onSubmit((v) => start.mutate(v))} noValidate aria-label={`Connect ${provider.displayName}`}>
      <Stack gap="sm">
        <Text size="sm">You will sign in at {provider.displayName} and come back here when you have allowed access.</Text>
        {params.map((f) => (
          <TextInput key={f.name} label={f.label} description={f.help} placeholder={f.example} required={f.required} {...form.getInputProps(f.name)} />
        ))}
        {framed ? <Text size="sm" c="dimmed">{provider.displayName} cannot be connected inside this frame; the application opens Connect in a window for it.</Text> : null}
        <ProblemAlert error={start.error} title="Could not start" />
        <Group justify="flex-end">
          <Button type="submit" disabled={framed} loading={start.isPending || start.isSuccess}>Continue to {provider.displayName}</Button>
        </Group>
      </Stack>
    </form>
  );
}
