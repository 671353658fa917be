import { Button, Card, Group, Loader, Pagination, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlayerPlay, IconRotate } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { type SyncState, useConnectionRuns, useConnectionSyncs } from '../api/data';
import { ErrorAlert } from '../components/ErrorAlert';
import { MfaModal } from '../components/MfaModal';
import { every, took, when } from './format';
import { StatusBadge } from './StatusBadge';

type Guarded = { kind: 'run' | 'reset'; sync: SyncState };

/**
 * The connection's syncs (schedule, last run, next run) and their history. Run now and Reset
 * start provider reads at once, so they ask for the step-up code (the API requires it).
 */
export function ConnectionSyncs({ connectionId, canRun, name }: { connectionId: string; canRun: boolean; name: string }) {
  const queryClient = useQueryClient();
  const syncs = useConnectionSyncs(connectionId);
  const [page, setPage] = useState(1);
  const [asked, setAsked] = useState(false);
  const running = syncs.data?.some((s) => s.lastRun?.status === 'running') ?? false;
  const runs = useConnectionRuns(connectionId, page, asked || running);
  const [guarded, setGuarded] = useState<Guarded | null>(null);
  const [open, setOpen] = useState(false);

  if (syncs.isPending) return <Loader size="sm" aria-label="Loading syncs" />;
  if (syncs.error) return <ErrorAlert error={syncs.error} title="Syncs could not be loaded" />;
  if (syncs.data.length === 0) return null;

  async function confirm(code: string) {
    if (!guarded) return;
    const { kind, sync } = guarded;
    await api('POST', `/api/syncs/${connectionId}/${sync.sync}/${kind === 'run' ? 'run' : 'reset'}`, { mfaCode: code });
    notifications.show({ color: 'green', title: kind === 'run' ? 'Sync queued' : 'Reset queued', message: `${name}: ${sync.sync} runs now; the history below follows it.` });
    setAsked(true);
    setPage(1);
    // The run is queued: the history and the state catch up while it runs.
    setTimeout(() => setAsked(false), 30_000);
    await queryClient.invalidateQueries({ queryKey: ['sync-runs', connectionId] });
    await queryClient.invalidateQueries({ queryKey: ['syncs', connectionId] });
  }

  return (
    <Card withBorder radius="md">
      <Title order={2} size="h4" mb="sm">Syncs</Title>
      <Table.ScrollContainer minWidth={720}>
        <Table verticalSpacing="xs" aria-label="Syncs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Sync</Table.Th><Table.Th>Schedule</Table.Th><Table.Th>Last run</Table.Th><Table.Th>Last success</Table.Th><Table.Th>Next run</Table.Th>
              {canRun ? <Table.Th><VisuallyHidden>Actions</VisuallyHidden></Table.Th> : null}
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {syncs.data.map((s) => (
              <Table.Tr key={s.sync} data-sync={s.sync}>
                <Table.Td><Text size="sm" fw={500}>{s.sync}</Text><Text size="xs" c="dimmed">{s.model}</Text></Table.Td>
                <Table.Td>
                  <Text size="sm">{every(s.frequency.effectiveMinutes)}{s.frequency.overrideMinutes !== null ? ' (yours)' : ''}</Text>
                  {s.paused ? <Text size="xs" c="dimmed">paused</Text> : null}
                  {s.pausedReason ? <Text size="xs" c="dimmed">waiting: {s.pausedReason.replace('_', ' ')}</Text> : null}
                </Table.Td>
                <Table.Td>{s.lastRun ? <Group gap={6}><StatusBadge status={s.lastRun.status} /><Text size="xs" c="dimmed">{s.lastRun.trigger}</Text></Group> : <Text size="sm" c="dimmed">never</Text>}</Table.Td>
                <Table.Td><Text size="sm">{when(s.lastSuccessAt)}</Text></Table.Td>
                <Table.Td><Text size="sm">{when(s.nextRunAt, '—')}</Text></Table.Td>
                {canRun ? (
                  <Table.Td>
                    <Group gap="xs" wrap="nowrap" justify="flex-end">
                      <Button size="xs" variant="light" leftSection={<IconPlayerPlay size={14} aria-hidden />} aria-label={`Run now: ${s.sync}`} onClick={() => { setGuarded({ kind: 'run', sync: s }); setOpen(true); }}>Run now</Button>
                      <Button size="xs" variant="default" leftSection={<IconRotate size={14} aria-hidden />} aria-label={`Reset: ${s.sync}`} onClick={() => { setGuarded({ kind: 'reset', sync: s }); setOpen(true); }}>Reset</Button>
                    </Group>
                  </Table.Td>
                ) : null}
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>

      <Title order={3} size="h5" mt="lg" mb="xs">History</Title>
      <ErrorAlert error={runs.error} title="The history could not be loaded" />
      {runs.data && runs.data.items.length === 0 ? <Text size="sm" c="dimmed">No runs yet.</Text> : null}
      {runs.data && runs.data.items.length > 0 ? (
        <Stack gap="xs">
          <Table.ScrollContainer minWidth={720}>
            <Table verticalSpacing={4} aria-label="Sync history">
              <Table.Thead>
                <Table.Tr><Table.Th>Started</Table.Th><Table.Th>Sync</Table.Th><Table.Th>Trigger</Table.Th><Table.Th>Status</Table.Th><Table.Th>Added / updated / deleted</Table.Th><Table.Th>Took</Table.Th><Table.Th>Error</Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {runs.data.items.map((r) => (
                  <Table.Tr key={r.id} data-run={r.id}>
                    <Table.Td><Text size="sm">{when(r.startedAt)}</Text></Table.Td>
                    <Table.Td><Text size="sm">{r.sync}</Text></Table.Td>
                    <Table.Td><Text size="sm">{r.trigger}{r.mode === 'full' ? ' · full' : ''}{r.attempt > 1 ? ` · attempt ${r.attempt}` : ''}</Text></Table.Td>
                    <Table.Td><StatusBadge status={r.status} /></Table.Td>
                    <Table.Td><Text size="sm">{r.added} / {r.updated} / {r.deleted}</Text></Table.Td>
                    <Table.Td><Text size="sm">{took(r.startedAt, r.finishedAt)}</Text></Table.Td>
                    <Table.Td><Text size="sm">{r.errorCode ?? ''}</Text></Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
          {runs.data.pagination.totalPages > 1 ? <Pagination total={runs.data.pagination.totalPages} value={page} onChange={setPage} size="sm" aria-label="History pages" /> : null}
        </Stack>
      ) : null}

      <MfaModal
        opened={open}
        title={guarded?.kind === 'reset' ? `Reset ${guarded.sync.sync}` : `Run ${guarded?.sync.sync ?? ''} now`}
        description={guarded?.kind === 'reset'
          ? `Reads everything from ${name} again and rewrites every record into the change feed.`
          : `Reads ${name} now (incremental when it can be), outside the schedule.`}
        confirmLabel={guarded?.kind === 'reset' ? 'Reset' : 'Run now'}
        onClose={() => setOpen(false)}
        onConfirm={confirm}
      />
    </Card>
  );
}
