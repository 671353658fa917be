import { Anchor, Button, Card, Center, Group, Loader, Pagination, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { notifications } from '@mantine/notifications';
import { IconPlayerTrackNext } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api } from '../../api/client';
import { type InboundEvent, useInboundEvents } from '../../api/data';
import { useCatalog } from '../../api/queries';
import { ErrorAlert } from '../../components/ErrorAlert';
import { StatusBadge } from '../../data/StatusBadge';
import { when } from '../../data/format';

/** Providers' webhooks stored for the organization, with the filters the API has; replay processes one again. */
export function InboundEventsPage() {
  const catalog = useCatalog();
  const queryClient = useQueryClient();
  const [page, setPage] = useState(1);
  const [provider, setProvider] = useState<string | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [topicInput, setTopic] = useState('');
  const [sinceInput, setSince] = useState('');
  const [topic] = useDebouncedValue(topicInput.trim(), 300);
  const since = sinceInput ? new Date(sinceInput).toISOString() : undefined;
  const events = useInboundEvents({ page, ...(provider ? { provider } : {}), ...(status ? { status } : {}), ...(topic ? { topic } : {}), ...(since ? { since } : {}) });
  const names = new Map(catalog.data?.providers.map((p) => [p.id, p.displayName]));
  const replay = useMutation({
    mutationFn: (e: InboundEvent) => api<InboundEvent>('POST', `/api/webhooks/inbound/${e.id}/replay`),
    onSuccess: () => {
      notifications.show({ color: 'green', title: 'Replayed', message: 'The event is processed again.' });
      return queryClient.invalidateQueries({ queryKey: ['inbound'] });
    },
  });
  const reset = <T,>(set: (v: T) => void) => (v: T) => { set(v); setPage(1); };
  return (
    <Stack gap="lg">
      <div>
        <Title order={1} size="h2">Inbound webhooks</Title>
        <Text c="dimmed" size="sm">What your providers sent Keyhold, verified and stored before it was acknowledged.</Text>
      </div>
      <Card withBorder radius="md">
        <Group gap="sm" mb="md" align="flex-end">
          <Select label="Provider" size="xs" w={170} clearable searchable placeholder="Any" value={provider} onChange={reset(setProvider)}
            data={(catalog.data?.providers ?? []).filter((p) => p.webhooks).map((p) => ({ value: p.id, label: p.displayName }))} />
          <TextInput label="Topic" size="xs" w={200} placeholder="e.g. orders/create" value={topicInput} onChange={(e) => reset(setTopic)(e.currentTarget.value)} />
          <Select label="Status" size="xs" w={140} clearable placeholder="Any" value={status} onChange={reset(setStatus)}
            data={[{ value: 'received', label: 'Received' }, { value: 'processed', label: 'Processed' }, { value: 'failed', label: 'Failed' }]} />
          <TextInput label="Received since" size="xs" type="datetime-local" value={sinceInput} onChange={(e) => reset(setSince)(e.currentTarget.value)} />
        </Group>
        {events.isPending ? <Center py="md"><Loader size="sm" aria-label="Loading inbound webhooks" /></Center> : null}
        <ErrorAlert error={events.error ?? replay.error} title="Inbound webhooks" />
        {events.data && events.data.items.length === 0 ? <Text size="sm" c="dimmed">No inbound webhooks{provider || status || topic || since ? ' match' : ' yet'}.</Text> : null}
        {events.data && events.data.items.length > 0 ? (
          <Stack gap="xs">
            <Table.ScrollContainer minWidth={820}>
              <Table verticalSpacing="xs" aria-label="Inbound webhooks">
                <Table.Thead>
                  <Table.Tr><Table.Th>Received</Table.Th><Table.Th>Provider</Table.Th><Table.Th>Topic</Table.Th><Table.Th>Event id</Table.Th><Table.Th>Status</Table.Th><Table.Th>Processed</Table.Th><Table.Th>Connection</Table.Th><Table.Th><Text span size="sm" fw={700}>Actions</Text></Table.Th></Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {events.data.items.map((e) => (
                    <Table.Tr key={e.id} data-inbound={e.id}>
                      <Table.Td><Text size="sm">{when(e.receivedAt)}</Text></Table.Td>
                      <Table.Td><Text size="sm">{names.get(e.provider) ?? e.provider}</Text></Table.Td>
                      <Table.Td><Text size="sm">{e.topic}</Text></Table.Td>
                      <Table.Td><Text size="xs" ff="monospace" style={{ overflowWrap: 'anywhere' }}>{e.externalId}</Text></Table.Td>
                      <Table.Td><StatusBadge status={e.status} />{e.lastError ? <Text size="xs" c="red.9">{e.lastError}</Text> : null}</Table.Td>
                      <Table.Td><Text size="sm">{when(e.processedAt, '—')}</Text></Table.Td>
                      <Table.Td><Anchor component={Link} to={`/connections/${e.connectionId}`} size="sm" aria-label={`Open the ${names.get(e.provider) ?? e.provider} connection`}>Open</Anchor></Table.Td>
                      <Table.Td>
                        <Button size="xs" variant="light" leftSection={<IconPlayerTrackNext size={14} aria-hidden />} aria-label={`Replay ${e.topic} ${e.externalId}`}
                          loading={replay.isPending && replay.variables?.id === e.id} onClick={() => replay.mutate(e)}>Replay</Button>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {events.data.pagination.totalPages > 1 ? <Pagination total={events.data.pagination.totalPages} value={page} onChange={setPage} size="sm" aria-label="Inbound webhook pages" /> : null}
          </Stack>
        ) : null}
      </Card>
    </Stack>
  );
}
