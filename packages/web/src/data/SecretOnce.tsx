import { Alert, Button, Code, CopyButton, Group, Modal, Stack, Text } from '@mantine/core';

/** A new signing secret, shown this once (creating an endpoint, rotating its secret). */
export function SecretOnce({ secret, onClose }: { secret: string | null; onClose: () => void }) {
  return (
    <Modal opened={secret !== null} onClose={onClose} title="Signing secret" size="lg">
      <Stack gap="sm">
        <Alert color="yellow" title="Shown once">Keep it where your receiver verifies signatures: Keyhold will not show it again.</Alert>
        <Group gap="xs" wrap="nowrap">
          <Code data-testid="signing-secret" style={{ overflowWrap: 'anywhere', flex: 1, minWidth: 0 }}>{secret}</Code>
          <CopyButton value={secret ?? ''}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy} style={{ flexShrink: 0 }}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
        </Group>
        <Text size="sm">Deliveries carry <Code>webhook-id</Code>, <Code>webhook-timestamp</Code> and <Code>webhook-signature</Code> (Standard Webhooks).</Text>
        <Group justify="flex-end"><Button onClick={onClose}>Done</Button></Group>
      </Stack>
    </Modal>
  );
}
