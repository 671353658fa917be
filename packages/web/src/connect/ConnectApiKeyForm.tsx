import { useForm } from '@mantine/form';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import type { Provider } from '../api/types';
import { CredentialFields } from '../integrations/CredentialFields';
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
      <CredentialFields provider={provider} fields={fields} form={form} test={test} save={save} testedOk={testedOk} onTest={runTest} Problem={ProblemAlert} />
    </form>
  );
}
