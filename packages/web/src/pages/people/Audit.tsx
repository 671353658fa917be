import { Button, Center, Code, Group, Loader, Pagination, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { IconDownload } from '@tabler/icons-react';
import { useMutation } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { type AuditEntry, type AuditFilter, fetchAuditCsv, useAuditLog, useUsers } from '../../api/people';
import { useMe } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';

// Selects clear with null (an empty string would keep showing the last choice).
type FilterForm = { action: string; actorId: string | null; outcome: string | null; from: string; to: string };
const EMPTY: FilterForm = { action: '', actorId: null, outcome: null, from: '', to: '' };

/** A day typed in the date field, as the instant it starts where the person is. */
const dayStart = (day: string, plusDays = 0) => {
  const [y, m, d] = day.split('-').map(Number);
  return new Date(y!, m! - 1, d! + plusDays).toISOString();
};

function toFilter(f: FilterForm): AuditFilter {
  return {
    ...(f.action.trim() ? { action: f.action.trim() } : {}),
    ...(f.actorId ? { actorId: f.actorId } : {}),
    ...(f.outcome ? { outcome: f.outcome as 'success' | 'failure' } : {}),
    ...(f.from ? { from: dayStart(f.from) } : {}),
    // "To" includes the whole day.
    ...(f.to ? { to: dayStart(f.to, 1) } : {}),
  };
}

function saveCsv(csv: string) {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `keyhold-audit-log-${new Date().toISOString().slice(0, 10)}.csv`;
  a.click();
  URL.revokeObjectURL(url);
}

/** The organization's audit log: filters, pages, and the same filter as a CSV file. */
export function AuditPage() {
  const me = useMe();
  const canRead = me.atLeast('admin');
  const [filter, setFilter] = useState<AuditFilter>({});
  const [page, setPage] = useState(1);
  const log = useAuditLog(filter, page);
  const users = useUsers(canRead);
  const emails = useMemo(() => new Map((users.data ?? []).map((u) => [u.id, u.email])), [users.data]);
  const form = useForm<FilterForm>({
    initialValues: EMPTY,
    validate: {
      action: (v) => (!v.trim() || /^[a-z0-9_.:]+(\.\*)?$/.test(v.trim()) ? null : 'An action like user.invite, or a family like user.*'),
      to: (v, all) => (v && all.from && v < all.from ? 'Ends before it starts' : null),
    },
  });
  const exportCsv = useMutation({ mutationFn: () => fetchAuditCsv(filter), onSuccess: saveCsv });
  const actor = (e: AuditEntry) => (e.actor.type === 'user' && e.actor.id ? emails.get(e.actor.id) ?? e.actor.id : `${e.actor.type}${e.actor.id ? ` ${e.actor.id}` : ''}`);

  if (!canRead) return <Stack><Title order={1} size="h2">Audit log</Title><Text>Only owners and admins read the audit log.</Text></Stack>;

  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={1} size="h2">Audit log</Title>
        <Button variant="default" leftSection={<IconDownload size={16} aria-hidden />} loading={exportCsv.isPending} onClick={() => exportCsv.mutate()}>Export CSV</Button>
      </Group>
      <ErrorAlert error={exportCsv.error} title="Export failed" />
      <form
        aria-label="Filters"
        onSubmit={form.onSubmit((v) => {
          setFilter(toFilter(v));
          setPage(1);
        })}
        noValidate
      >
        <SimpleGrid cols={{ base: 1, sm: 2, lg: 5 }} spacing="sm">
          <TextInput label="Action" placeholder="user.* or api_credentials.rotate" {...form.getInputProps('action')} />
          <Select label="Actor" placeholder="Anyone" clearable searchable data={(users.data ?? []).map((u) => ({ value: u.id, label: u.email }))} {...form.getInputProps('actorId')} />
          <Select label="Outcome" placeholder="Any" clearable data={[{ value: 'success', label: 'Success' }, { value: 'failure', label: 'Failure' }]} {...form.getInputProps('outcome')} />
          <TextInput label="From" type="date" {...form.getInputProps('from')} />
          <TextInput label="To" type="date" {...form.getInputProps('to')} />
        </SimpleGrid>
        <Group mt="sm" gap="xs">
          <Button type="submit">Apply filters</Button>
          <Button
            variant="subtle"
            onClick={() => {
              form.setValues(EMPTY);
              setFilter({});
              setPage(1);
            }}
          >
            Clear
          </Button>
        </Group>
      </form>
      <ErrorAlert error={log.error} title="The audit log could not be loaded" />
      {log.isPending ? <Center py="xl"><Loader aria-label="Loading the audit log" /></Center> : null}
      {log.data ? (
        <>
          <Text size="sm" c="dimmed" aria-live="polite">{log.data.pagination.total} entries</Text>
          <Table.ScrollContainer minWidth={1000}>
            <Table striped verticalSpacing="xs" aria-label="Audit entries">
              <Table.Thead>
                <Table.Tr><Table.Th>Time</Table.Th><Table.Th>Action</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>Actor</Table.Th><Table.Th>Entity</Table.Th><Table.Th>Address</Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {log.data.items.map((e) => (
                  <Table.Tr key={e.id} data-action={e.action}>
                    <Table.Td><Text size="sm">{new Date(e.createdAt).toLocaleString()}</Text></Table.Td>
                    <Table.Td><Code>{e.action}</Code></Table.Td>
                    <Table.Td><Text size="sm" fw={600} c={e.outcome === 'failure' ? 'red.9' : 'dark.7'}>{e.outcome}</Text></Table.Td>
                    <Table.Td><Text size="sm">{actor(e)}</Text></Table.Td>
                    <Table.Td><Text size="sm">{e.entity ? `${e.entity.type} ${e.entity.id ?? ''}` : '—'}</Text></Table.Td>
                    <Table.Td><Text size="sm">{e.ip ?? '—'}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {log.data.pagination.totalPages > 1 ? (
            <Pagination total={log.data.pagination.totalPages} value={page} onChange={setPage} getControlProps={(c) => ({ 'aria-label': c === 'next' ? 'Next page' : c === 'previous' ? 'Previous page' : c })} />
          ) : null}
        </>
      ) : null}
    </Stack>
  );
}
