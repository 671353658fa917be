import { Alert, Button, Group, PasswordInput, Stack, TextInput } from '@mantine/core';
import type { UseFormReturnType } from '@mantine/form';
import { IconCircleCheck } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import type { Provider } from '../api/types';
import type { formFields } from './fields';

type Pending = { error: unknown; isPending: boolean };

type Props = {
  provider: Provider;
  fields: ReturnType<typeof formFields>;
  form: UseFormReturnType<Record<string, string>>;
  test: Pending;
  save: Pending;
  /** Test passed with exactly the values on screen: Save is enabled only then (when the provider can be tested). */
  testedOk: boolean;
  onTest: () => void;
  /** How a failed request shows (the console's and the hosted Connect page's differ). */
  Problem: (p: { error: unknown; title: string }) => ReactNode;
  /** Inputs shown before the catalog's fields (the console's label). */
  children?: ReactNode;
};

/**
 * An API-key provider's catalog fields (secret ones masked), the Test result, and Test / Save:
 * the body of the console's connect form and of the hosted Connect page's.
 */
export function CredentialFields({ provider, fields, form, test, save, testedOk, onTest, Problem, children }: Props) {
  return (
    <Stack gap="sm">
      {children}
      {fields.map((f) => {
        const common = { label: f.label, description: f.help, placeholder: f.example, required: f.required, autoComplete: 'off', ...form.getInputProps(f.name) };
        return f.secret ? <PasswordInput {...common} key={f.name} /> : <TextInput {...common} key={f.name} />;
      })}
      <Problem error={test.error} title="Test failed" />
      {testedOk ? (
        <Alert color="green" icon={<IconCircleCheck aria-hidden />} title="Test passed">
          {provider.displayName} accepted these credentials.
        </Alert>
      ) : null}
      <Problem error={save.error} title="Not saved" />
      <Group justify="flex-end">
        {provider.canTestConnection ? <Button variant="default" onClick={onTest} loading={test.isPending}>Test</Button> : null}
        <Button type="submit" loading={save.isPending} disabled={provider.canTestConnection && !testedOk}>Save</Button>
      </Group>
    </Stack>
  );
}
