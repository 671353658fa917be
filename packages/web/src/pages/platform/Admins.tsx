import type { PlatformAdmin } from '@keyhold/contract';
import { Card, Stack, Table, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { ErrorAlert } from '../../components/ErrorAlert';
import { platformData } from '../../platform/client';

export function AdminsPage() {
  const admins = useQuery({ queryKey: ['platform', 'admins'], queryFn: () => platformData<PlatformAdmin[]>('GET', '/api/admin/admins') });
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">Platform admins</Title>
      <ErrorAlert error={admins.error} />
      <Card withBorder padding="md" radius="md">
        <Table striped>
          <Table.Thead><Table.Tr><Table.Th>Email</Table.Th><Table.Th>Role</Table.Th><Table.Th>Two-step</Table.Th><Table.Th>Active</Table.Th><Table.Th>Last sign-in</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {(admins.data ?? []).map((a) => (
              <Table.Tr key={a.id}>
                <Table.Td>{a.email}</Table.Td><Table.Td>{a.role}</Table.Td><Table.Td>{a.mfaEnabled ? 'On' : 'Off'}</Table.Td><Table.Td>{a.isActive ? 'Yes' : 'No'}</Table.Td>
                <Table.Td>{a.lastLoginAt ? new Date(a.lastLoginAt).toLocaleString() : 'never'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Card>
    </Stack>
  );
}
