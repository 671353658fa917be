import type { PlatformTenant } from '@keyhold/contract';
import { Anchor, Card, Group, Pagination, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert';
import { platformApi } from '../../platform/client';
import { TenantStatusBadge } from '../../platform/TenantStatusBadge';

export const PLANS = ['starter', 'professional', 'performance', 'enterprise'];
const STATUSES = ['active', 'trial', 'suspended', 'trial_expired'];

export function TenantsPage() {
  const [search, setSearch] = useState('');
  const [q] = useDebouncedValue(search.trim(), 300);
  const [status, setStatus] = useState<string | null>(null);
  const [plan, setPlan] = useState<string | null>(null);
  const [limit, setLimit] = useState('50');
  const [page, setPage] = useState(1);
  const params = new URLSearchParams({ page: String(page), limit, ...(q ? { search: q } : {}), ...(status ? { status } : {}), ...(plan ? { plan } : {}) });
  const tenants = useQuery({ queryKey: ['platform', 'tenants', params.toString()], queryFn: () => platformApi<PlatformTenant[]>('GET', `/api/admin/tenants?${params}`), placeholderData: keepPreviousData });
  const reset = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setPage(1);
  };
  const total = tenants.data?.pagination?.total ?? 0;
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">Tenants</Title>
      <Card withBorder padding="md" radius="md">
        <Group align="flex-end" gap="sm" mb="md">
          <TextInput label="Search" placeholder="Name or slug" value={search} onChange={(e) => reset(setSearch)(e.currentTarget.value)} w={260} />
          <Select label="Status" placeholder="Any" clearable data={STATUSES} value={status} onChange={reset(setStatus)} w={170} />
          <Select label="Plan" placeholder="Any" clearable data={PLANS} value={plan} onChange={reset(setPlan)} w={170} />
          <Select label="Per page" data={['25', '50', '100', '500']} value={limit} onChange={(v) => reset(setLimit)(v ?? '50')} allowDeselect={false} w={110} />
        </Group>
        <ErrorAlert error={tenants.error} />
        <Text size="sm" c="dimmed" mb="xs" data-testid="tenant-total">{total} tenant{total === 1 ? '' : 's'}</Text>
        <Table.ScrollContainer minWidth={700}>
          <Table striped highlightOnHover>
            <Table.Thead><Table.Tr><Table.Th>Name</Table.Th><Table.Th>Slug</Table.Th><Table.Th>Plan</Table.Th><Table.Th>Status</Table.Th><Table.Th>Quota (users / connections)</Table.Th><Table.Th>Created</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {(tenants.data?.data ?? []).map((t) => (
                <Table.Tr key={t.id} data-tenant={t.slug}>
                  <Table.Td><Anchor component={Link} to={`/platform/tenants/${t.id}`}>{t.name}</Anchor></Table.Td>
                  <Table.Td>{t.slug}</Table.Td><Table.Td>{t.plan}</Table.Td><Table.Td><TenantStatusBadge status={t.status} /></Table.Td>
                  <Table.Td>{t.maxUsers} / {t.maxConnections}</Table.Td><Table.Td>{new Date(t.createdAt).toLocaleDateString()}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {(tenants.data?.pagination?.totalPages ?? 0) > 1 ? (
          <Group justify="center" mt="md">
            <Pagination total={tenants.data!.pagination!.totalPages} value={page} onChange={setPage} getControlProps={(c) => ({ 'aria-label': c === 'next' ? 'Next page' : c === 'previous' ? 'Previous page' : c })} />
          </Group>
        ) : null}
      </Card>
    </Stack>
  );
}
