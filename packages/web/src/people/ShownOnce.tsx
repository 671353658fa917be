import { Alert, Button, Code, CopyButton, Group, Stack, Text } from '@mantine/core';

/** A secret the server shows once (a new API key, a temporary password): copy it now. */
export function ShownOnce({ label, value, note }: { label: string; value: string; note: string }) {
  return (
    <Stack gap="xs">
      <Alert color="yellow" title="Shown once">{note}</Alert>
      <Text size="sm" fw={500}>{label}</Text>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Code data-testid="shown-once" style={{ overflowWrap: 'anywhere', flex: 1, minWidth: 0 }}>{value}</Code>
        <CopyButton value={value}>
          {({ copied, copy }) => <Button size="xs" variant="light" onClick={copy} style={{ flexShrink: 0 }}>{copied ? 'Copied' : 'Copy'}</Button>}
        </CopyButton>
      </Group>
    </Stack>
  );
}
