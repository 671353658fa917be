import { Alert, Button, Code, CopyButton, Group, List, Stack, Text } from '@mantine/core';
import type { Provider } from '../api/types';

/**
 * For providers that sign each connection's webhooks with its own secret: the URL to paste at the
 * provider and what to bring back (the signing secret the provider shows, saved with Rotate).
 */
export function WebhookUrl({ url, provider, name }: { url: string; provider: Provider | undefined; name: string }) {
  // The catalog names the connection's webhook fields `webhook…` (secret, token, verification key).
  const secretField = provider?.credentialFields.find((f) => f.secret && f.name.startsWith('webhook'));
  return (
    <Stack gap="xs" mt="md">
      <Text size="sm" fw={500} id="webhook-url-label">Webhook URL to paste at {name}</Text>
      <Group gap="xs" wrap="nowrap" align="flex-start">
        <Code aria-labelledby="webhook-url-label" data-testid="webhook-url" style={{ overflowWrap: 'anywhere', flex: 1, minWidth: 0 }}>{url}</Code>
        <CopyButton value={url}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy} style={{ flexShrink: 0 }}>{copied ? 'Copied' : 'Copy URL'}</Button>}</CopyButton>
      </Group>
      <Alert color="blue" variant="light" title="How to connect its webhooks">
        <List size="sm" type="ordered" spacing={4}>
          <List.Item>In {name}, add a webhook endpoint and paste this URL{provider?.docsUrl ? ' (see its documentation)' : ''}.</List.Item>
          {secretField ? (
            <List.Item>Copy what {name} shows for it into <b>{secretField.label}</b> here with Rotate{secretField.help ? ` (${secretField.help})` : ''}.</List.Item>
          ) : null}
          <List.Item>Send a test event from {name}: it appears under Inbound webhooks, and in the events here when it changes the connection.</List.Item>
        </List>
        <Text size="xs" mt="xs">Keyhold checks every delivery's signature before storing it; one that does not verify is refused.</Text>
      </Alert>
    </Stack>
  );
}
