import { Anchor, Button, Card, Group, Modal, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconPlus } from '@tabler/icons-react';
import { Link } from 'react-router';
import type { Connection, Provider } from '../api/types';
import { ApiKeyConnectForm } from './ApiKeyConnectForm';
import { OAuthConnectForm } from './OAuthConnectForm';
import { isOAuth } from './fields';
import { StatusPill, statusOf } from './status';

type Props = { provider: Provider; connections: Connection[]; canManage: boolean };

/** One provider: its connections (one line per label) and the way to add one. */
export function ProviderCard({ provider, connections, canManage }: Props) {
  const [opened, { open, close }] = useDisclosure(false);
  const titleId = `provider-${provider.id}`;
  return (
    <Card withBorder radius="md" padding="md" component="article" aria-labelledby={titleId} data-provider={provider.id}>
      <Stack gap="xs" h="100%">
        <Group justify="space-between" wrap="nowrap" align="flex-start">
          <Text id={titleId} fw={600} component="h3" m={0} size="md">{provider.displayName}</Text>
          {connections.length === 0 ? <StatusPill status="not_connected" /> : null}
        </Group>
        {provider.description ? <Text size="sm" c="dimmed" lineClamp={2}>{provider.description}</Text> : null}
        {connections.map((c) => (
          <Group key={c.id} justify="space-between" wrap="nowrap" gap="xs">
            <Anchor component={Link} to={`/connections/${c.id}`} size="sm" aria-label={`${provider.displayName} ${c.label}`}>{c.label}</Anchor>
            <StatusPill status={statusOf(c)} />
          </Group>
        ))}
        {canManage ? (
          <Group mt="auto" pt="xs">
            <Button size="xs" variant={connections.length ? 'default' : 'filled'} leftSection={connections.length ? <IconPlus size={14} aria-hidden /> : null} onClick={open} aria-label={connections.length ? `Add account (${provider.displayName})` : `Connect ${provider.displayName}`}>
              {connections.length ? 'Add account' : 'Connect'}
            </Button>
          </Group>
        ) : null}
      </Stack>
      <Modal opened={opened} onClose={close} title={`Connect ${provider.displayName}`} size="lg">
        {isOAuth(provider)
          ? <OAuthConnectForm provider={provider} takenLabels={connections.map((c) => c.label)} />
          : <ApiKeyConnectForm provider={provider} takenLabels={connections.map((c) => c.label)} onDone={close} />}
      </Modal>
    </Card>
  );
}
