import { Alert, Button, Group, PasswordInput, Stack, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconCircleCheck } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { Provider } from '../api/types';
import { credentialBody, fieldError, formFields } from '../integrations/fields';
import { type Completed, connectApi } from './api';
import { ProblemAlert } from './ProblemAlert';

type Props = { token: string; provider: Provider; onConnected: (c: Completed) => void };

/**
 * The catalog's fields for an API-key provider, as the console's form has them, on the session's
 * narrow API: Save stays off until Test passed with exactly the values on screen.
 */
export function ConnectApiKeyForm({ token, provider, onConnected }: Props) {
  const fields = formFields(provider);
  const form = useForm<Record<string, string>>({
    initialValues: Object.fromEntries(fields.map((f) => [f.name, f.default ?? ''])),
    validate: Object.fromEntries(fields.map((f) => [f.name, (v: string) => fieldError(f, v)])),
  });
  const [testedValues, setTestedValues] = useState<string | null>(null);
  const current = JSON.stringify(credentialBody(provider, form.values));
  const testedOk = testedValues === current;

  const test = useMutation({
    mutationFn: (body: ReturnType<typeof credentialBody>) => connectApi(token, 'POST', '/api/connect/session/test', { serviceName: provider.id, ...body }),
    onSuccess: (_r, body) => setTestedValues(JSON.stringify(body)),
  });
  const save = useMutation({
    mutationFn: (values: Record<string, string>) => connectApi<Completed>(token, 'POST', '/api/connect/session/credentials', { serviceName: provider.id, ...credentialBody(provider, values) }),
    onSuccess: onConnected,
  });
  const runTest = () => {
    if (form.validate().hasErrors) return;
    test.mutate(credentialBody(provider, form.values));
  };

  return (
    <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate aria-label={`Connect ${provider.displayName}`}>
      <Stack gap="sm">
        {fields.map((f) => {
          const common = { label: f.label, description: f.help, placeholder: f.example, required: f.required, autoComplete: 'off', ...form.getInputProps(f.name) };
          return f.secret ? <PasswordInput {...common} key={f.name} /> : <TextInput {...common} key={f.name} />;
        })}
        <ProblemAlert error={test.error} title="Test failed" />
        {testedOk ? (
          <Alert color="green" icon={<IconCircleCheck aria-hidden />} title="Test passed">
            {provider.displayName} accepted these credentials.
          </Alert>
        ) : null}
        <ProblemAlert error={save.error} title="Not saved" />
        <Group justify="flex-end">
          {provider.canTestConnection ? <Button variant="default" onClick={runTest} loading={test.isPending}>Test</Button> : null}
          <Button type="submit" loading={save.isPending} disabled={provider.canTestConnection && !testedOk}>Save</Button>
        </Group>
      </Stack>
    </form>
  );
}
