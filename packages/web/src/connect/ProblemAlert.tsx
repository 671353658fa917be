import { Alert } from '@mantine/core';
import { IconAlertCircle } from '@tabler/icons-react';

/** An API error as the end user should read it: the server's message (no console links here). */
export function ProblemAlert({ error, title }: { error: unknown; title: string }) {
  if (!error) return null;
  return (
    <Alert color="red" icon={<IconAlertCircle aria-hidden />} title={title} role="alert">
      {error instanceof Error ? error.message : String(error)}
    </Alert>
  );
}
