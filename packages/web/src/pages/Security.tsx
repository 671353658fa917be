import { Stack, Title } from '@mantine/core';
import { MfaEnrolment } from '../people/MfaEnrolment';
import { Sessions } from '../people/Sessions';

/** Your own security: two-step verification (QR enrolment, recovery codes) and where you are signed in. */
export function SecurityPage() {
  return (
    <Stack maw={960} gap="lg">
      <Title order={1} size="h2">Security</Title>
      <MfaEnrolment />
      <Sessions />
    </Stack>
  );
}
