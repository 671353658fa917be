import { Alert, Badge, Group, Stack, Text, Title } from '@mantine/core';
import { useMe } from '../auth/session';

/** Where error actions send people who need MFA; enrolment with a QR code comes with the MFA screens. */
export function SecurityPage() {
  const me = useMe();
  const enabled = me.user?.mfaEnabled ?? false;
  return (
    <Stack maw={720}>
      <Title order={1} size="h2">Security</Title>
      <Group gap="xs">
        <Text>Two-step verification:</Text>
        <Badge color={enabled ? 'green' : 'gray'} variant="light">{enabled ? 'on' : 'off'}</Badge>
      </Group>
      {!enabled ? (
        <Alert color="blue" title="Why it matters">
          Revealing, rotating and deleting credentials ask for a code from your authenticator app.
          Enrol with <Text span ff="monospace">POST /api/auth/mfa/setup</Text> and <Text span ff="monospace">/enable</Text> until the enrolment screen is here.
        </Alert>
      ) : null}
    </Stack>
  );
}
