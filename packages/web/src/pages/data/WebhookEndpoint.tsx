import { Alert, Anchor, Breadcrumbs, Button, Card, Center, Code, Group, Loader, Menu, Modal, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { IconChevronDown, IconKey, IconSend, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../../api/client';
import { type WebhookEndpointWithSecret, useWebhookEndpoint } from '../../api/data';
import { ErrorAlert } from '../../components/ErrorAlert';
import { MfaModal } from '../../components/MfaModal';
import { Deliveries } from '../../data/Deliveries';
import { EndpointForm } from '../../data/EndpointForm';
import { EndpointStatus } from '../../data/EndpointStatus';
import { SecretOnce } from '../../data/SecretOnce';
import { when } from '../../data/format';

type Guarded = { kind: 'url'; url: string } | { kind: 'rotate' } | { kind: 'delete' };

/** One endpoint: what it takes, its state, its secret (rotate), test, recovery and its deliveries. */
export function WebhookEndpointPage() {
  const { id = '' } = useParams();
  const endpoint = useWebhookEndpoint(id);
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [editing, setEditing] = useState<'details' | 'url' | null>(null);
  const [guarded, setGuarded] = useState<Guarded | null>(null);
  const [mfaOpen, setMfaOpen] = useState(false);
  const [secret, setSecret] = useState<string | null>(null);
  const ask = (g: Guarded) => { setGuarded(g); setMfaOpen(true); };
  const refresh = () => Promise.all([
    queryClient.invalidateQueries({ queryKey: ['webhook-endpoints'] }),
    queryClient.invalidateQueries({ queryKey: ['deliveries', id] }),
  ]);

  const patch = useMutation({
    mutationFn: (body: Record<string, unknown>) => api('PATCH', `/api/webhook-endpoints/${id}`, { body }),
    onSuccess: () => refresh(),
  });
  const test = useMutation({
    mutationFn: () => api('POST', `/api/webhook-endpoints/${id}/test`),
    onSuccess: () => { notifications.show({ color: 'green', title: 'Test sent', message: 'A signed test.ping is on its way; it shows in the deliveries below.' }); return refresh(); },
  });
  const recoverForm = useForm({ initialValues: { since: new Date(Date.now() - 86_400_000).toISOString().slice(0, 16) } });
  const recover = useMutation({
    mutationFn: (since: string) => api<{ requeued: number }>('POST', `/api/webhook-endpoints/${id}/recover`, { body: { since: new Date(since).toISOString() } }),
    onSuccess: (r) => { notifications.show({ color: 'green', title: 'Sending again', message: `${r.requeued} failed deliveries are sent again.` }); return refresh(); },
  });

  if (endpoint.isPending) return <Center py="xl"><Loader aria-label="Loading endpoint" /></Center>;
  if (endpoint.error) return <ErrorAlert error={endpoint.error} title="This endpoint could not be shown" />;
  const e = endpoint.data;

  async function runGuarded(code: string) {
    if (!guarded) return;
    if (guarded.kind === 'url') {
      await api('PUT', `/api/webhook-endpoints/${id}/url`, { body: { url: guarded.url }, mfaCode: code });
      notifications.show({ color: 'green', title: 'Moved', message: `Events now go to ${guarded.url}.` });
    } else if (guarded.kind === 'rotate') {
      const r = await api<WebhookEndpointWithSecret>('POST', `/api/webhook-endpoints/${id}/rotate-secret`, { mfaCode: code });
      setSecret(r.secret ?? null);
    } else {
      await api('DELETE', `/api/webhook-endpoints/${id}`, { mfaCode: code });
      notifications.show({ color: 'green', title: 'Deleted', message: `${e.url} no longer receives events.` });
      queryClient.removeQueries({ queryKey: ['webhook-endpoints', id] });
      navigate('/webhooks/endpoints');
    }
    await refresh();
  }
  const text = {
    url: { title: 'Move the endpoint', description: `Signed events will go to ${guarded?.kind === 'url' ? guarded.url : ''} instead of ${e.url}.`, confirm: 'Move' },
    rotate: { title: 'Rotate the signing secret', description: 'A new secret is shown once; the current one keeps signing alongside it for 24 hours.', confirm: 'Rotate' },
    delete: { title: 'Delete the endpoint', description: `${e.url} stops receiving events; its delivery log is deleted with it.`, confirm: 'Delete' },
  }[guarded?.kind ?? 'rotate'];

  return (
    <Stack gap="lg">
      <Breadcrumbs>
        <Anchor component={Link} to="/webhooks/endpoints">Webhook endpoints</Anchor>
        <Text span style={{ overflowWrap: 'anywhere' }}>{new URL(e.url).host}</Text>
      </Breadcrumbs>
      <Group justify="space-between" align="flex-start">
        <Stack gap={4} style={{ minWidth: 0, flex: 1 }}>
          <Group gap="sm"><Title order={1} size="h2">Endpoint</Title><EndpointStatus endpoint={e} /></Group>
          <Code style={{ overflowWrap: 'anywhere' }}>{e.url}</Code>
        </Stack>
        <Group gap="xs">
          <Button variant="default" leftSection={<IconSend size={16} aria-hidden />} onClick={() => test.mutate()} loading={test.isPending} disabled={!e.enabled}>Send test</Button>
          <Menu position="bottom-end">
            <Menu.Target><Button variant="default" rightSection={<IconChevronDown size={14} aria-hidden />}>Manage</Button></Menu.Target>
            <Menu.Dropdown>
              <Menu.Item onClick={() => setEditing('details')}>Edit description and events</Menu.Item>
              <Menu.Item onClick={() => setEditing('url')}>Change URL</Menu.Item>
              <Menu.Item leftSection={<IconKey size={14} aria-hidden />} onClick={() => ask({ kind: 'rotate' })}>Rotate secret</Menu.Item>
              {e.enabled ? <Menu.Item onClick={() => patch.mutate({ enabled: false })}>Disable</Menu.Item> : null}
              <Menu.Divider />
              <Menu.Item color="red.9" leftSection={<IconTrash size={14} aria-hidden />} onClick={() => ask({ kind: 'delete' })}>Delete</Menu.Item>
            </Menu.Dropdown>
          </Menu>
        </Group>
      </Group>
      <ErrorAlert error={test.error} title="The test was not sent" />
      <ErrorAlert error={patch.error} title="Not changed" />

      {!e.enabled ? (
        <Alert color="orange" title={e.disabledReason ? 'Keyhold stopped sending to this endpoint' : 'This endpoint is disabled'}>
          <Stack gap="xs">
            <Text size="sm">
              {e.disabledReason === 'gone_410' ? 'It answered 410 Gone. ' : e.disabledReason === 'failing_5_days' ? 'Every attempt failed for 5 days. ' : ''}
              Enable it to receive new events, then send again what failed meanwhile.
            </Text>
            <Group><Button size="xs" onClick={() => patch.mutate({ enabled: true })} loading={patch.isPending}>Enable</Button></Group>
          </Stack>
        </Alert>
      ) : null}

      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Card withBorder radius="md">
          <Title order={2} size="h4" mb="sm">Details</Title>
          <Table variant="vertical" withRowBorders={false} layout="fixed">
            <Table.Tbody>
              <Table.Tr><Table.Th w={150}>Description</Table.Th><Table.Td>{e.description || '—'}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Events</Table.Th><Table.Td>{e.eventTypes.includes('*') ? 'every event' : e.eventTypes.join(', ')}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Signing</Table.Th><Table.Td>{e.signatureScheme === 'v1a' ? 'ed25519 (v1a)' : 'HMAC-SHA256 (v1)'}</Table.Td></Table.Tr>
              {e.publicKey ? <Table.Tr><Table.Th>Public key</Table.Th><Table.Td><Code style={{ overflowWrap: 'anywhere' }}>{e.publicKey}</Code></Table.Td></Table.Tr> : null}
              {e.previousSecretValidUntil ? <Table.Tr><Table.Th>Old secret signs until</Table.Th><Table.Td>{when(e.previousSecretValidUntil)}</Table.Td></Table.Tr> : null}
              {e.failingSince ? <Table.Tr><Table.Th>Failing since</Table.Th><Table.Td>{when(e.failingSince)}</Table.Td></Table.Tr> : null}
              <Table.Tr><Table.Th>Created</Table.Th><Table.Td>{when(e.createdAt)}</Table.Td></Table.Tr>
            </Table.Tbody>
          </Table>
        </Card>
        <Card withBorder radius="md">
          <Title order={2} size="h4" mb="sm">Send failed deliveries again</Title>
          <form onSubmit={recoverForm.onSubmit((v) => recover.mutate(v.since))} noValidate>
            <Stack gap="sm">
              <Text size="sm">Every delivery to this endpoint that failed since this time is sent again, with its original webhook-id.</Text>
              <TextInput type="datetime-local" label="Failed since" required {...recoverForm.getInputProps('since')} />
              <ErrorAlert error={recover.error} title="Not sent again" />
              <Group><Button type="submit" variant="light" loading={recover.isPending} disabled={!e.enabled}>Send again</Button></Group>
            </Stack>
          </form>
        </Card>
      </SimpleGrid>

      <Deliveries endpointId={id} />

      <Modal opened={editing === 'details'} onClose={() => setEditing(null)} title="Edit the endpoint" size="lg">
        <EndpointForm initial={{ url: e.url, description: e.description, eventTypes: e.eventTypes }} withUrl={false} submitLabel="Save"
          onSubmit={(v) => { setEditing(null); patch.mutate({ description: v.description, eventTypes: v.eventTypes }); }} />
      </Modal>
      <Modal opened={editing === 'url'} onClose={() => setEditing(null)} title="Change the URL" size="lg">
        <EndpointForm initial={{ url: e.url, description: e.description, eventTypes: e.eventTypes }} withUrl submitLabel="Continue"
          onSubmit={(v) => { setEditing(null); ask({ kind: 'url', url: v.url }); }} />
      </Modal>
      <MfaModal opened={mfaOpen} title={text.title} description={text.description} confirmLabel={text.confirm} danger={guarded?.kind === 'delete'} onClose={() => setMfaOpen(false)} onConfirm={runGuarded} />
      <SecretOnce secret={secret} onClose={() => setSecret(null)} />
    </Stack>
  );
}
