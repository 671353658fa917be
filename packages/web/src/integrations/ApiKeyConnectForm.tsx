import { TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import type { Provider } from '../api/types';
import { ErrorAlert } from '../components/ErrorAlert';
import { CredentialFields } from './CredentialFields';
import { LABEL_PATTERN, credentialBody, fieldError, formFields } from './fields';

type Props = { provider: Provider; takenLabels: string[]; onDone: () => void };

/**
 * The connect form of an API-key provider, generated from its catalog fields. Save stays off
 * until Test succeeded with exactly the values on screen (the server verifies again on save).
 */
export function ApiKeyConnectForm({ provider, takenLabels, onDone }: Props) {
  const queryClient = useQueryClient();
  const fields = formFields(provider);
  const form = useForm<Record<string, string>>({
    initialValues: {
      label: takenLabels.includes('default') ? '' : 'default',
      ...Object.fromEntries(fields.map((f) => [f.name, f.default ?? ''])),
    },
    validate: {
      label: (v) => (!v || !LABEL_PATTERN.test(v) ? 'Letters, digits, space, . _ - (up to 63)' : takenLabels.includes(v) ? 'Another connection already has this label' : null),
      ...Object.fromEntries(fields.map((f) => [f.name, (v: string) => fieldError(f, v)])),
    },
  });
  const [testedValues, setTestedValues] = useState<string | null>(null);
  const current = JSON.stringify(credentialBody(provider, form.values));
  const testedOk = testedValues === current;

  const test = useMutation({
    mutationFn: (body: ReturnType<typeof credentialBody>) =>
      api<{ message: string }>('POST', '/api/api-credentials/test-connection', { body: { serviceName: provider.id, ...body } }),
    onSuccess: (_r, body) => setTestedValues(JSON.stringify(body)),
  });
  const save = useMutation({
    mutationFn: (values: Record<string, string>) =>
      api('POST', '/api/api-credentials', { body: { serviceName: provider.id, label: values.label!.trim(), ...credentialBody(provider, values) } }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['connections'] });
      notifications.show({ color: 'green', title: `${provider.displayName} connected`, message: 'The credentials were verified and saved.' });
      onDone();
    },
  });

  const runTest = () => {
    if (form.validate().hasErrors) return;
    test.mutate(credentialBody(provider, form.values));
  };

  return (
    <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate>
      <CredentialFields provider={provider} fields={fields} form={form} test={test} save={save} testedOk={testedOk} onTest={runTest} Problem={ErrorAlert}>
        <TextInput label="Label" description="Tells several accounts of one provider apart" required {...form.getInputProps('label')} />
      </CredentialFields>
    </form>
  );
}
