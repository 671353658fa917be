import { Alert, Badge, Button, Card, Code, CopyButton, Group, List, Stack, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { QRCodeSVG } from 'qrcode.react';
import { useState } from 'react';
import { api } from '../api/client';
import { type MfaSetup, type RecoveryCodes, useFreshMe } from '../api/people';
import { ErrorAlert } from '../components/ErrorAlert';
import { MfaModal } from '../components/MfaModal';

/** Saves the recovery codes as a text file (from memory: they were never anywhere else). */
function download(codes: string[]) {
  const url = URL.createObjectURL(new Blob([`Keyhold recovery codes (each works once)\n\n${codes.join('\n')}\n`], { type: 'text/plain' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = 'keyhold-recovery-codes.txt';
  a.click();
  URL.revokeObjectURL(url);
}

/**
 * Two-step verification: scan the QR code of the otpauth URI (or type the secret), confirm with a
 * code, then keep the ten recovery codes, which are shown this once.
 */
export function MfaEnrolment() {
  const me = useFreshMe();
  const queryClient = useQueryClient();
  const [setup, setSetup] = useState<MfaSetup | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [disabling, setDisabling] = useState(false);
  const enabled = me.data?.user?.mfaEnabled ?? false;
  const start = useMutation({ mutationFn: () => api<MfaSetup>('POST', '/api/auth/mfa/setup', { body: {} }), onSuccess: setSetup });
  const form = useForm({ initialValues: { code: '' }, validate: { code: (v) => (/^\d{6}$/.test(v.trim()) ? null : 'Enter the 6-digit code') } });
  const enable = useMutation({
    mutationFn: (code: string) => api<RecoveryCodes>('POST', '/api/auth/mfa/enable', { body: { code } }),
    onSuccess: (r) => {
      setSetup(null);
      setCodes(r.recoveryCodes);
      form.reset();
      void queryClient.invalidateQueries({ queryKey: ['me'] });
    },
  });

  return (
    <Card withBorder radius="md">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4">Two-step verification</Title>
        <Badge c="dark.7" color={enabled ? 'green' : 'gray'} variant="light" data-mfa={enabled ? 'on' : 'off'}>{enabled ? 'On' : 'Off'}</Badge>
      </Group>
      {codes ? (
        <Stack gap="sm">
          <Alert color="yellow" title="Save your recovery codes now">
            Each code signs you in once if you lose your authenticator. They are shown only this once.
          </Alert>
          <List spacing={2} ff="monospace" aria-label="Recovery codes" listStyleType="none" style={{ columns: 2, maxWidth: 360 }}>
            {codes.map((c) => <List.Item key={c}>{c}</List.Item>)}
          </List>
          <Group gap="xs">
            <CopyButton value={codes.join('\n')}>{({ copied, copy }) => <Button variant="light" onClick={copy}>{copied ? 'Copied' : 'Copy all'}</Button>}</CopyButton>
            <Button variant="light" onClick={() => download(codes)}>Download</Button>
            <Button onClick={() => setCodes(null)}>I saved them</Button>
          </Group>
        </Stack>
      ) : setup ? (
        <Stack gap="sm">
          <Text size="sm">Scan this code with your authenticator app (1Password, Google Authenticator, Authy…), then enter the code it shows.</Text>
          <Group align="flex-start" gap="lg">
            <QRCodeSVG value={setup.otpauthUrl} size={196} marginSize={4} title="QR code for your authenticator app" role="img" data-testid="mfa-qr" />
            <Stack gap={4} maw={340}>
              <Text size="sm" fw={500}>Can't scan it? Type this key:</Text>
              <Code style={{ overflowWrap: 'anywhere' }} data-testid="mfa-secret">{setup.secret}</Code>
              <form onSubmit={form.onSubmit(({ code }) => enable.mutate(code.trim()))} noValidate>
                <Stack gap="xs" mt="sm">
                  <ErrorAlert error={enable.error} title="Not turned on" />
                  <TextInput label="Code from the app" inputMode="numeric" autoComplete="one-time-code" required {...form.getInputProps('code')} />
                  <Group gap="xs">
                    <Button type="submit" loading={enable.isPending}>Turn on</Button>
                    <Button variant="default" onClick={() => setSetup(null)}>Cancel</Button>
                  </Group>
                </Stack>
              </form>
            </Stack>
          </Group>
        </Stack>
      ) : enabled ? (
        <Stack gap="sm" align="flex-start">
          <Text size="sm">Signing in, revealing, rotating and deleting credentials ask for a code from your authenticator app.</Text>
          <Button variant="light" color="red" onClick={() => setDisabling(true)}>Turn off</Button>
        </Stack>
      ) : (
        <Stack gap="sm" align="flex-start">
          <Text size="sm">Revealing, rotating and deleting credentials ask for a code from an authenticator app. Set one up to do them.</Text>
          <ErrorAlert error={start.error} title="Could not start" />
          <Button onClick={() => start.mutate()} loading={start.isPending}>Set up two-step verification</Button>
        </Stack>
      )}
      <MfaModal
        opened={disabling}
        title="Turn off two-step verification"
        description="Enter a code from your authenticator app, or a recovery code. Guarded actions stay unavailable until you set it up again."
        confirmLabel="Turn off"
        danger
        onClose={() => setDisabling(false)}
        onConfirm={async (code) => {
          await api('POST', '/api/auth/mfa/disable', { body: { code } });
          notifications.show({ color: 'green', title: 'Turned off', message: 'Two-step verification is off.' });
          await queryClient.invalidateQueries({ queryKey: ['me'] });
        }}
      />
    </Card>
  );
}
