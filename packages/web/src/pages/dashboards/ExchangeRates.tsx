import { Button, Card, Center, Group, Loader, Stack, Table, Text, Title, VisuallyHidden } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconRefresh } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { type RateSyncResult, useRateStatus, useRates } from '../../api/dashboards';
import { useMe } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { MfaModal } from '../../components/MfaModal';
import { ConnectFirst, DashboardError } from '../../dashboards/ConnectFirst';
import { when } from '../../dashboards/format';
import { type DisplayStatus, StatusPill } from '../../integrations/status';

const KNOWN = ['active', 'needs_reauth', 'degraded', 'disabled', 'error'];
const displayStatus = (s: string) => (KNOWN.includes(s) ? s : 'error') as DisplayStatus;

export function ExchangeRatesPage() {
  const me = useMe();
  const canSync = me.atLeast('admin');
  const status = useRateStatus();
  const [selected, setSelected] = useState<string | null>(null);
  const shown = selected ?? status.data?.[0]?.connection ?? null;
  const rates = useRates(shown);
  const [syncing, setSyncing] = useState<{ connection: string; label: string } | null>(null);
  const queryClient = useQueryClient();

  const syncNow = async (code: string) => {
    if (!syncing) return;
    const r = await api<RateSyncResult>('POST', `/api/exchange-rates/sync?connection=${syncing.connection}`, { mfaCode: code });
    notifications.show({ color: r.error ? 'red' : 'teal', title: `${syncing.label}`, message: r.error ? `Sync failed (${r.error})` : `${r.rates_synced} rates written${r.skipped?.length ? `; skipped ${r.skipped.join(', ')}` : ''}` });
    await queryClient.invalidateQueries({ queryKey: ['exchange-rates'] });
  };

  return (
    <Stack gap="lg">
      <Title order={1} size="h2">Exchange rates</Title>
      <Text size="sm" c="dimmed">Each day's reference rates go into every QuickBooks company, in its home currency (daily at 08:00 UTC).</Text>
      {status.isPending ? <Center h={160}><Loader aria-label="Loading exchange rates" /></Center> : null}
      {status.error ? <DashboardError error={status.error} what="QuickBooks" body="Exchange rates are written into your QuickBooks companies." /> : null}
      {status.data && status.data.length === 0 ? (
        <ConnectFirst what="QuickBooks" body="Connect one or more QuickBooks companies and Keyhold keeps their exchange rates up to date every day." actions={[{ label: 'Connect QuickBooks', url: '/admin/integrations?connect=quickbooks' }]} />
      ) : null}
      {status.data && status.data.length > 0 ? (
        <Card withBorder padding="md" radius="md">
          <Title order={2} size="h4" mb="sm">Companies</Title>
          <Table.ScrollContainer minWidth={800}>
            <Table striped highlightOnHover>
              <Table.Thead>
                <Table.Tr><Table.Th>Company</Table.Th><Table.Th>Connection</Table.Th><Table.Th>Daily sync</Table.Th><Table.Th>Last sync</Table.Th><Table.Th>Rates written</Table.Th><Table.Th>Pending</Table.Th><Table.Th>Attempts (failed)</Table.Th><Table.Th><VisuallyHidden>Actions</VisuallyHidden></Table.Th></Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {status.data.map((c) => (
                  <Table.Tr key={c.connection} data-company={c.label}>
                    <Table.Td><Text size="sm" fw={600}>{c.label}</Text><Text size="xs" c="dimmed">{c.company ?? 'company id unknown'}</Text></Table.Td>
                    <Table.Td><StatusPill status={displayStatus(c.connectionStatus)} /></Table.Td>
                    <Table.Td>{c.enabled ? 'On' : 'Off'}</Table.Td>
                    <Table.Td>{when(c.lastSyncAt)}</Table.Td>
                    <Table.Td>{c.rates.synced} of {c.rates.total}</Table.Td>
                    <Table.Td><Text size="sm" fw={c.rates.pending > 0 ? 700 : 400}>{c.rates.pending}</Text></Table.Td>
                    <Table.Td>{c.syncing.total} ({c.syncing.failed})</Table.Td>
                    <Table.Td>
                      <Group gap="xs" wrap="nowrap">
                        <Button size="xs" variant="default" onClick={() => setSelected(c.connection)} aria-pressed={shown === c.connection}>Rates</Button>
                        {canSync ? <Button size="xs" leftSection={<IconRefresh size={14} aria-hidden />} onClick={() => setSyncing({ connection: c.connection, label: c.label })}>Sync now</Button> : null}
                      </Group>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </Card>
      ) : null}
      {shown ? (
        <Card withBorder padding="md" radius="md">
          <Title order={2} size="h4" mb="sm">Stored rates · {status.data?.find((c) => c.connection === shown)?.label}</Title>
          <ErrorAlert error={rates.error} />
          {rates.data && rates.data.length === 0 ? <Text size="sm">No rates stored for this company yet.</Text> : null}
          {rates.data && rates.data.length > 0 ? (
            <Table striped>
              <Table.Thead><Table.Tr><Table.Th>Date</Table.Th><Table.Th>Currency</Table.Th><Table.Th>Rate (home per unit)</Table.Th><Table.Th>Source</Table.Th><Table.Th>Written</Table.Th></Table.Tr></Table.Thead>
              <Table.Tbody>
                {rates.data.map((r) => (
                  <Table.Tr key={`${r.date}-${r.currency}`}>
                    <Table.Td>{r.date}</Table.Td><Table.Td>{r.currency} → {r.homeCurrency}</Table.Td><Table.Td>{r.rate}</Table.Td><Table.Td>{r.source}</Table.Td>
                    <Table.Td>{r.error ? <Text size="sm" c="red.9">Not written ({r.error})</Text> : r.syncedAt ? when(r.syncedAt) : 'Pending'}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          ) : null}
        </Card>
      ) : null}
      <MfaModal
        opened={syncing !== null}
        title="Sync exchange rates now"
        description={`Writes today's rates into ${syncing?.label ?? 'the company'} in QuickBooks.`}
        confirmLabel="Sync now"
        onClose={() => setSyncing(null)}
        onConfirm={syncNow}
      />
    </Stack>
  );
}
