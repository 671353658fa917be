import { Button, Card, Code, Group, Modal, Pagination, SegmentedControl, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconRefresh } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { type WebhookDelivery, useDeliveries } from '../api/data';
import { ErrorAlert } from '../components/ErrorAlert';
import { StatusBadge } from './StatusBadge';
import { when } from './format';

/** Deliveries to one endpoint, newest first, with each attempt; a finished one can be sent again. */
export function Deliveries({ endpointId }: { endpointId: string }) {
  const queryClient = useQueryClient();
  const [status, setStatus] = useState('all');
  const [page, setPage] = useState(1);
  // By id: the modal follows the list as it refreshes (a retry adds an attempt).
  const [shownId, setShown] = useState<string | null>(null);
  const deliveries = useDeliveries(endpointId, { page, ...(status === 'all' ? {} : { status }) });
  const shown = deliveries.data?.items.find((d) => d.id === shownId) ?? null;
  const retry = useMutation({
    mutationFn: (d: WebhookDelivery) => api('POST', `/api/webhook-endpoints/${endpointId}/deliveries/${d.id}/retry`),
    onSuccess: () => {
      notifications.show({ color: 'green', title: 'Sending again', message: 'The delivery is sent again now, with the same webhook-id.' });
      return queryClient.invalidateQueries({ queryKey: ['deliveries', endpointId] });
    },
  });
  return (
    <Card withBorder radius="md">
      <Group justify="space-between" mb="sm">
        <Title order={2} size="h4">Deliveries</Title>
        <SegmentedControl size="xs" aria-label="Delivery status" value={status} onChange={(v) => { setStatus(v); setPage(1); }}
          data={[{ value: 'all', label: 'All' }, { value: 'pending', label: 'Pending' }, { value: 'delivered', label: 'Delivered' }, { value: 'failed', label: 'Failed' }]} />
      </Group>
      <ErrorAlert error={deliveries.error ?? retry.error} title="Deliveries" />
      {deliveries.data && deliveries.data.items.length === 0 ? <Text size="sm" c="dimmed">No deliveries{status === 'all' ? ' yet' : ` ${status}`}.</Text> : null}
      {deliveries.data && deliveries.data.items.length > 0 ? (
        <Stack gap="xs">
          <Table.ScrollContainer minWidth={760}>
            <Table verticalSpacing="xs" aria-label="Deliveries">
              <Table.Thead>
                <Table.Tr><Table.Th>Created</Table.Th><Table.Th>Event</Table.Th><Table.Th>Status</Table.Th><Table.Th>Attempts</Table.Th><Table.Th>Last answer</Table.Th><Table.Th>Next attempt</Table.Th><Table.Th><Text span size="sm" fw={700}>Actions</Text></Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {deliveries.data.items.map((d) => (
                  <Table.Tr key={d.id} data-delivery={d.id}>
                    <Table.Td><Text size="sm">{when(d.createdAt)}</Text></Table.Td>
                    <Table.Td><Text size="sm">{d.eventType}</Text></Table.Td>
                    <Table.Td><StatusBadge status={d.status} /></Table.Td>
                    <Table.Td><Text size="sm">{d.attempts}</Text></Table.Td>
                    <Table.Td><Text size="sm">{d.lastStatus ?? ''}{d.lastError ? ` ${d.lastError}` : ''}</Text></Table.Td>
                    <Table.Td><Text size="sm">{when(d.nextAttemptAt, '—')}</Text></Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button size="xs" variant="subtle" onClick={() => setShown(d.id)} aria-label={`Attempts of delivery ${d.id}`}>Attempts</Button>
                        {d.status !== 'pending' ? (
                          <Button size="xs" variant="light" leftSection={<IconRefresh size={14} aria-hidden />} loading={retry.isPending && retry.variables?.id === d.id}
                            aria-label={`Retry delivery ${d.id}`} onClick={() => retry.mutate(d)}>Retry</Button>
                        ) : null}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {deliveries.data.pagination.totalPages > 1 ? <Pagination total={deliveries.data.pagination.totalPages} value={page} onChange={setPage} size="sm" aria-label="Delivery pages" /> : null}
        </Stack>
      ) : null}
      <Modal opened={shownId !== null} onClose={() => setShown(null)} title="Attempts" size="xl">
        {shown ? (
          <Stack gap="xs">
            <Text size="sm">webhook-id <Code>msg_{shown.id}</Code> · {shown.eventType}</Text>
            <Table aria-label="Attempts">
              <Table.Thead><Table.Tr><Table.Th>#</Table.Th><Table.Th>At</Table.Th><Table.Th>Status</Table.Th><Table.Th>Latency</Table.Th><Table.Th>Error</Table.Th><Table.Th>Answer</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {shown.attemptLog.map((a) => (
                  <Table.Tr key={a.attempt}>
                    <Table.Td>{a.attempt}</Table.Td><Table.Td>{when(a.at)}</Table.Td><Table.Td>{a.status ?? '—'}</Table.Td><Table.Td>{a.latencyMs} ms</Table.Td>
                    <Table.Td>{a.error ?? ''}</Table.Td><Table.Td><Code style={{ overflowWrap: 'anywhere' }}>{a.response ?? ''}</Code></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Stack>
        ) : null}
      </Modal>
    </Card>
  );
}
