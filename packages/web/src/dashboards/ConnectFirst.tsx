import { Anchor, Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { IconPlugConnected } from '@tabler/icons-react';
import { Link } from 'react-router';
import { ApiError } from '../api/client';
import { ErrorAlert } from '../components/ErrorAlert';

const inAdmin = (url: string) => (url.startsWith('/admin/') ? url.slice('/admin'.length) : url);

type Props = { what: string; body: string; actions?: Array<{ label: string; url: string }> };

/** The friendly answer to "nothing is connected yet": what to connect, and a way there. */
export function ConnectFirst({ what, body, actions = [] }: Props) {
  const links = actions.length ? actions : [{ label: 'Go to Integrations', url: '/admin/integrations' }];
  return (
    <Card withBorder padding="xl" radius="md" data-testid="connect-first">
      <Stack gap="sm" align="flex-start">
        <Group gap="xs"><IconPlugConnected size={22} aria-hidden /><Title order={2} size="h4">Connect {what} to see this</Title></Group>
        <Text size="sm">{body}</Text>
        <Group gap="sm">
          {links.map((a, i) => (
            <Button key={a.url} component={Link} to={inAdmin(a.url)} variant={i === 0 ? 'filled' : 'default'}>{a.label}</Button>
          ))}
          {actions.length ? <Anchor component={Link} to="/integrations" size="sm">All integrations</Anchor> : null}
        </Group>
      </Stack>
    </Card>
  );
}

/** A query's error: not configured becomes the call to action, anything else the usual alert. */
export function DashboardError({ error, what, body }: { error: unknown; what: string; body: string }) {
  if (error instanceof ApiError && error.code === 'INTEGRATION_NOT_CONFIGURED') return <ConnectFirst what={what} body={body} actions={error.actions} />;
  return <ErrorAlert error={error} title="The figures could not be loaded" />;
}
