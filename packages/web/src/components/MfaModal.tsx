import { Anchor, Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { useState } from 'react';
import { Link } from 'react-router';
import { ApiError } from '../api/client';
import { ErrorAlert } from './ErrorAlert';

type Props = {
  opened: boolean;
  title: string;
  description: string;
  confirmLabel: string;
  danger?: boolean;
  onClose: () => void;
  /** Runs the guarded request with the code (sent as X-MFA-Code); a throw keeps the modal open. */
  onConfirm: (code: string) => Promise<void>;
};

/**
 * The step-up before a sensitive action. Focus starts in the code field; Enter confirms, Escape
 * and the Cancel button close it (Mantine traps focus inside while open).
 */
export function MfaModal({ opened, title, description, confirmLabel, danger, onClose, onConfirm }: Props) {
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const form = useForm({ initialValues: { code: '' }, validate: { code: (v) => (v.trim() ? null : 'Enter the code from your authenticator app') } });
  const close = () => {
    form.reset();
    setError(null);
    onClose();
  };
  const submit = form.onSubmit(async ({ code }) => {
    setBusy(true);
    setError(null);
    try {
      await onConfirm(code.trim());
      close();
    } catch (e) {
      setError(e);
      form.setFieldValue('code', '');
    } finally {
      setBusy(false);
    }
  });
  const notEnrolled = error instanceof ApiError && error.code === 'MFA_ENROLLMENT_REQUIRED';
  return (
    <Modal opened={opened} onClose={close} title={title} centered trapFocus returnFocus closeOnEscape>
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Text size="sm">{description}</Text>
          {notEnrolled ? (
            <Text size="sm" role="alert">This needs two-step verification. <Anchor component={Link} to="/settings/security">Set it up in Security</Anchor>.</Text>
          ) : <ErrorAlert error={error} title="Not done" />}
          <TextInput label="Authenticator code" inputMode="numeric" autoComplete="one-time-code" data-autofocus required {...form.getInputProps('code')} />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>Cancel</Button>
            <Button type="submit" color={danger ? 'red.9' : undefined} loading={busy}>{confirmLabel}</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
