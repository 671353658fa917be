import { Button, Card, Loader, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import { type Session, useSessions } from '../api/people';
import { ErrorAlert } from '../components/ErrorAlert';
import { when } from './roles';

/** Where you are signed in; ending one signs that browser out at its next request. */
export function Sessions() {
  const sessions = useSessions();
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: (s: Session) => api('DELETE', `/api/auth/sessions/${s.id}`),
    onSuccess: () => notifications.show({ color: 'green', title: 'Session ended', message: 'That browser is signed out at its next request.' }),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['sessions'] }),
  });
  return (
    <Card withBorder radius="md">
      <Title order={2} size="h4" mb="sm">Active sessions</Title>
      {sessions.isPending ? <Loader size="sm" aria-label="Loading sessions" /> : null}
      <ErrorAlert error={sessions.error ?? revoke.error} title="Sessions" />
      {sessions.data ? (
        <Table.ScrollContainer minWidth={640}>
          <Table verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr><Table.Th>Browser</Table.Th><Table.Th>Address</Table.Th><Table.Th>Signed in</Table.Th><Table.Th>Last active</Table.Th><Table.Th>Session</Table.Th></Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {sessions.data.map((s) => (
                <Table.Tr key={s.id} data-session={s.current ? 'current' : 'other'}>
                  <Table.Td><Text size="sm" lineClamp={1} title={s.userAgent ?? ''}>{s.userAgent ?? 'unknown'}</Text></Table.Td>
                  <Table.Td><Text size="sm">{s.ip ?? 'unknown'}</Text></Table.Td>
                  <Table.Td><Text size="sm">{when(s.createdAt)}</Text></Table.Td>
                  <Table.Td><Text size="sm">{when(s.lastUsedAt)}</Text></Table.Td>
                  <Table.Td>
                    {s.current ? <Text size="sm" fw={500}>This browser</Text> : (
                      <Button size="xs" variant="subtle" color="red" loading={revoke.isPending && revoke.variables?.id === s.id} onClick={() => revoke.mutate(s)} aria-label={`End session from ${s.ip ?? 'an unknown address'} started ${when(s.createdAt)}`}>End session</Button>
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
    </Card>
  );
}
