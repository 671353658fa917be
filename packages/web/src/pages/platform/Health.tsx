import type { PlatformHealth } from '@keyhold/contract';
import { Anchor, Button, Card, Center, Group, Loader, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert';
import { BarFigure } from '../../dashboards/lazy-charts';
import { platformData } from '../../platform/client';
import { usePlatformAdmin } from '../../platform/session';

type Quarantined = { id: string; provider: string; routingKey: string; topic: string; externalId: string; receivedAt: string };
const STATUS_LABEL: Record<string, string> = { active: 'Active', needs_reauth: 'Needs re-auth', degraded: 'Degraded', disabled: 'Disabled', error: 'Error' };
const ORDER = Object.keys(STATUS_LABEL);
/** Statuses in a fixed order (healthy first), whatever order the counts came in. */
const byStatus = (counts: Record<string, number>) => Object.entries(counts).sort(([a], [b]) => (ORDER.indexOf(a) >>> 0) - (ORDER.indexOf(b) >>> 0));

function Stat({ label, value, tone }: { label: string; value: number; tone?: 'bad' }) {
  return (
    <Card withBorder padding="md" radius="md">
      <Text size="sm" c="dimmed">{label}</Text>
      <Text fz={28} fw={700} c={tone === 'bad' && value > 0 ? 'red.9' : undefined} data-stat={label}>{value}</Text>
    </Card>
  );
}

function QuarantineList() {
  const admin = usePlatformAdmin();
  const queryClient = useQueryClient();
  const list = useQuery({ queryKey: ['platform', 'quarantine'], queryFn: () => platformData<Quarantined[]>('GET', '/api/admin/webhooks/quarantine?limit=50') });
  const replay = async (q: Quarantined) => {
    try {
      await platformData('POST', `/api/admin/webhooks/quarantine/${q.id}/replay`, {});
      notifications.show({ color: 'teal', message: 'Delivered to the organization that now holds the account' });
      await queryClient.invalidateQueries({ queryKey: ['platform'] });
    } catch (e) {
      notifications.show({ color: 'red', title: 'Not replayed', message: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <Card withBorder padding="md" radius="md">
      <Title order={2} size="h4" mb="xs">Webhook quarantine</Title>
      <Text size="sm" c="dimmed" mb="sm">Deliveries for accounts no organization has connected. Replay one once its account is connected.</Text>
      <ErrorAlert error={list.error} />
      {list.data && list.data.length === 0 ? <Text size="sm">Nothing in quarantine.</Text> : null}
      {list.data && list.data.length > 0 ? (
        <Table.ScrollContainer minWidth={700}>
          <Table striped>
            <Table.Thead><Table.Tr><Table.Th>Received</Table.Th><Table.Th>Provider</Table.Th><Table.Th>Account</Table.Th><Table.Th>Topic</Table.Th><Table.Th>Replay</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {list.data.map((q) => (
                <Table.Tr key={q.id}>
                  <Table.Td>{new Date(q.receivedAt).toLocaleString()}</Table.Td><Table.Td>{q.provider}</Table.Td><Table.Td>{q.routingKey}</Table.Td><Table.Td>{q.topic}</Table.Td>
                  <Table.Td>{admin.may('tenants:update') ? <Button size="xs" variant="default" onClick={() => void replay(q)} aria-label={`Replay ${q.topic} for ${q.routingKey}`}>Replay</Button> : '—'}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      ) : null}
    </Card>
  );
}

export function HealthPage() {
  const health = useQuery({ queryKey: ['platform', 'health'], queryFn: () => platformData<PlatformHealth>('GET', '/api/admin/health'), refetchInterval: 60_000 });
  const h = health.data;
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">Health</Title>
      {health.isPending ? <Center h={200}><Loader aria-label="Loading health" /></Center> : null}
      <ErrorAlert error={health.error} />
      {h ? (
        <>
          <Text size="sm" c="dimmed">Across every organization · {new Date(h.asOf).toLocaleString()}</Text>
          <SimpleGrid cols={{ base: 2, md: 3, lg: 6 }}>
            <Stat label="Connections" value={h.connections.total} />
            <Stat label="Needs re-auth" value={h.needsReauth} tone="bad" />
            <Stat label="Tokens expired" value={h.tokens.expired} tone="bad" />
            <Stat label={`Expiring within ${h.tokens.expiringWithinMinutes} min`} value={h.tokens.expiringSoon} />
            <Stat label="Failing syncs" value={h.failingSyncs} tone="bad" />
            <Stat label="Webhook quarantine" value={h.webhookQuarantine} tone="bad" />
          </SimpleGrid>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <Card withBorder padding="md" radius="md">
              <Title order={2} size="h4" mb="sm">Connections by status</Title>
              {h.connections.total ? (
                <BarFigure label="Connections by status" x="status" height={220} counts
                  data={byStatus(h.connections.byStatus).map(([status, n]) => ({ status: STATUS_LABEL[status] ?? status, n }))}
                  series={[{ key: 'n', label: 'Connections', color: 'var(--mantine-color-indigo-8)' }]} />
              ) : <Text size="sm">No connections yet.</Text>}
              <Text size="sm" mt="xs" data-testid="by-status">{byStatus(h.connections.byStatus).map(([k, v]) => `${STATUS_LABEL[k] ?? k}: ${v}`).join(' · ')}</Text>
            </Card>
            <Card withBorder padding="md" radius="md">
              <Title order={2} size="h4" mb="sm">Keys</Title>
              <Text size="sm">Current master key: <Text span fw={700} ff="monospace">{h.keys.currentMasterKey}</Text> ({h.keys.configuredMasterKeys.length} configured)</Text>
              <Text size="sm" mb="sm" c={h.keys.awaitingRewrap ? 'red.9' : undefined}>{h.keys.awaitingRewrap ? `${h.keys.awaitingRewrap} data keys still wrapped by an older master key: run the master key rotation.` : 'Every active data key is wrapped by the current master key.'}</Text>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>Master key</Table.Th><Table.Th>Data key version</Table.Th><Table.Th>State</Table.Th><Table.Th>Count</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {h.keys.dataKeys.map((k) => (
                    <Table.Tr key={`${k.masterKey}-${k.version}-${k.state}`}><Table.Td ff="monospace">{k.masterKey}</Table.Td><Table.Td>v{k.version}</Table.Td><Table.Td>{k.state}</Table.Td><Table.Td>{k.count}</Table.Td></Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Card>
          </SimpleGrid>
          <Card withBorder padding="md" radius="md">
            <Title order={2} size="h4" mb="sm">Organizations needing attention</Title>
            {h.attention.length === 0 ? <Text size="sm">None: every connection works and every sync's last run succeeded.</Text> : (
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>Organization</Table.Th><Table.Th>Needs re-auth</Table.Th><Table.Th>Tokens expired</Table.Th><Table.Th>Failing syncs</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {h.attention.map((a) => (
                    <Table.Tr key={a.tenantId} data-attention={a.slug ?? a.tenantId}>
                      <Table.Td><Anchor component={Link} to={`/platform/tenants/${a.tenantId}`}>{a.name ?? a.tenantId}</Anchor> <Text span size="xs" c="dimmed">{a.slug}</Text></Table.Td>
                      <Table.Td>{a.needsReauth}</Table.Td><Table.Td>{a.tokensExpired}</Table.Td><Table.Td>{a.failingSyncs}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
          </Card>
          <QuarantineList />
        </>
      ) : null}
    </Stack>
  );
}
