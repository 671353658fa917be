import { Card, Center, Group, Loader, Pagination, Select, Stack, Table, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { useNotifications } from '../../api/data';
import { ErrorAlert } from '../../components/ErrorAlert';
import { NotificationSettingsCard } from '../../data/NotificationSettingsCard';
import { StatusBadge } from '../../data/StatusBadge';
import { when } from '../../data/format';

/** Messages Keyhold sent to the organization's people (email, chat), and who hears of what. */
export function NotificationsPage() {
  const [page, setPage] = useState(1);
  const [status, setStatus] = useState<string | null>(null);
  const [channel, setChannel] = useState<string | null>(null);
  const log = useNotifications({ page, ...(status ? { status } : {}), ...(channel ? { channel } : {}) });
  return (
    <Stack gap="lg">
      <div>
        <Title order={1} size="h2">Notifications</Title>
        <Text c="dimmed" size="sm">Alerts Keyhold sends your people when a connection needs attention, a sync keeps failing or an endpoint is disabled.</Text>
      </div>
      <NotificationSettingsCard />
      <Card withBorder radius="md">
        <Group justify="space-between" mb="sm" align="flex-end">
          <Title order={2} size="h4">Sent messages</Title>
          <Group gap="sm">
            <Select label="Status" size="xs" w={140} clearable placeholder="Any" value={status} onChange={(v) => { setStatus(v); setPage(1); }}
              data={[{ value: 'PENDING', label: 'Pending' }, { value: 'SENT', label: 'Sent' }, { value: 'FAILED', label: 'Failed' }, { value: 'BOUNCED', label: 'Bounced' }]} />
            <Select label="Channel" size="xs" w={140} clearable placeholder="Any" value={channel} onChange={(v) => { setChannel(v); setPage(1); }}
              data={[{ value: 'email', label: 'Email' }, { value: 'chat', label: 'Chat' }]} />
          </Group>
        </Group>
        {log.isPending ? <Center py="md"><Loader size="sm" aria-label="Loading messages" /></Center> : null}
        <ErrorAlert error={log.error} title="Messages could not be shown" />
        {log.data && log.data.items.length === 0 ? <Text size="sm" c="dimmed">No messages{status || channel ? ' match' : ' yet'}.</Text> : null}
        {log.data && log.data.items.length > 0 ? (
          <Stack gap="xs">
            <Table.ScrollContainer minWidth={760}>
              <Table verticalSpacing="xs" aria-label="Sent messages">
                <Table.Thead>
                  <Table.Tr><Table.Th>Created</Table.Th><Table.Th>Message</Table.Th><Table.Th>To</Table.Th><Table.Th>Sent by</Table.Th><Table.Th>Status</Table.Th><Table.Th>Attempts</Table.Th><Table.Th>Error</Table.Th></Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {log.data.items.map((n) => (
                    <Table.Tr key={n.id}>
                      <Table.Td><Text size="sm">{when(n.createdAt)}</Text></Table.Td>
                      <Table.Td><Text size="sm">{n.template.replaceAll('_', ' ')}</Text><Text size="xs" c="dimmed">{n.channel}</Text></Table.Td>
                      <Table.Td><Text size="sm">{n.recipient}</Text></Table.Td>
                      <Table.Td><Text size="sm">{n.sender}</Text></Table.Td>
                      <Table.Td><StatusBadge status={n.status} /></Table.Td>
                      <Table.Td><Text size="sm">{n.attempts}</Text></Table.Td>
                      <Table.Td><Text size="sm">{n.error ?? ''}</Text></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
            {log.data.pagination.totalPages > 1 ? <Pagination total={log.data.pagination.totalPages} value={page} onChange={setPage} size="sm" aria-label="Message pages" /> : null}
          </Stack>
        ) : null}
      </Card>
    </Stack>
  );
}
