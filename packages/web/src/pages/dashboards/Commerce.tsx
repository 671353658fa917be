import type { CommerceSummary } from '@keyhold/contract';
import { Button, Card, Center, Grid, Group, Loader, NumberInput, Stack, Table, Text, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api } from '../../api/client';
import { useCommerceSettings, useCommerceSummary } from '../../api/dashboards';
import { useMe } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ConnectFirst, DashboardError } from '../../dashboards/ConnectFirst';
import { when } from '../../dashboards/format';
import { BarFigure } from '../../dashboards/lazy-charts';

type Store = CommerceSummary['stores'][number];
const PROVIDER = { shopify: 'Shopify', 'amazon-sp-api': 'Amazon', unleashed: 'Unleashed' } as Record<string, string>;

const salesText = (w: Store['last7Days']) => (w.sales.length ? w.sales.map((m) => `${Number(m.amount).toLocaleString(undefined, { minimumFractionDigits: 2 })} ${m.currency}`).join(' · ') : '0');
/** The chart's currency: the one most stores sell in (sales in another currency are in the table only). */
function mainCurrency(stores: Store[]) {
  const seen = new Map<string, number>();
  for (const s of stores) for (const m of s.last30Days.sales) seen.set(m.currency, (seen.get(m.currency) ?? 0) + 1);
  return [...seen.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? null;
}
const amountIn = (w: Store['last7Days'], currency: string) => Number(w.sales.find((m) => m.currency === currency)?.amount ?? 0);

function ThresholdForm({ current }: { current: number }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const form = useForm({ initialValues: { lowStockThreshold: current } });
  useEffect(() => form.setInitialValues({ lowStockThreshold: current }), [current]); // eslint-disable-line react-hooks/exhaustive-deps
  const save = form.onSubmit(async (v) => {
    setError(null);
    try {
      await api('PUT', '/api/commerce/settings', { body: { lowStockThreshold: Number(v.lowStockThreshold) } });
      notifications.show({ color: 'teal', message: 'Low-stock threshold saved' });
      await queryClient.invalidateQueries({ queryKey: ['commerce'] });
    } catch (e) {
      setError(e);
    }
  });
  return (
    <form onSubmit={save}>
      <Group align="flex-end" gap="sm">
        <NumberInput label="Low-stock threshold" description="An item is low when fewer than this are available" min={0} max={1_000_000} w={260} {...form.getInputProps('lowStockThreshold')} />
        <Button type="submit">Save</Button>
      </Group>
      <ErrorAlert error={error} title="Not saved" />
    </form>
  );
}

export function CommercePage() {
  const me = useMe();
  const summary = useCommerceSummary();
  const settings = useCommerceSettings();
  const s = summary.data;
  const currency = s ? mainCurrency(s.stores) : null;
  const empty = s && s.stores.length === 0 && s.lowStock.count === 0;
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">Commerce</Title>
      {summary.isPending ? <Center h={200}><Loader aria-label="Loading commerce figures" /></Center> : null}
      {summary.error ? <DashboardError error={summary.error} what="a store" body="Sales come from your Shopify stores; low stock from Shopify, Amazon FBA and Unleashed." /> : null}
      {empty ? (
        <ConnectFirst what="a store" body="Connect a Shopify store (or Amazon FBA / Unleashed for stock) and its sales and low stock show here after the first sync."
          actions={[{ label: 'Connect Shopify', url: '/admin/integrations?connect=shopify' }, { label: 'Connect Unleashed', url: '/admin/integrations?connect=unleashed' }]} />
      ) : null}
      {s && !empty ? (
        <>
          <Text size="sm" c="dimmed">As of {when(s.asOf)} · from synced records</Text>
          <Grid>
            <Grid.Col span={{ base: 12, lg: 5 }}>
            <Card withBorder padding="md" radius="md" h="100%">
              <Title order={2} size="h4" mb="sm">Sales per store{currency ? ` (${currency})` : ''}</Title>
              {s.stores.length && currency ? (
                <BarFigure
                  label={`Sales per store in ${currency}, last 7 and 30 days`}
                  x="store"
                  data={s.stores.map((st) => ({ store: st.label, last7: amountIn(st.last7Days, currency), last30: amountIn(st.last30Days, currency) }))}
                  series={[{ key: 'last7', label: 'Last 7 days', color: 'var(--mantine-color-indigo-8)' }, { key: 'last30', label: 'Last 30 days', color: 'var(--mantine-color-teal-7)' }]}
                />
              ) : <Text size="sm">No sales in the last 30 days.</Text>}
            </Card>
            </Grid.Col>
            <Grid.Col span={{ base: 12, lg: 7 }}>
            <Card withBorder padding="md" radius="md" h="100%">
              <Title order={2} size="h4" mb="sm">Stores</Title>
              <Table striped>
                <Table.Thead><Table.Tr><Table.Th>Store</Table.Th><Table.Th>Orders, 7 days</Table.Th><Table.Th>Sales, 7 days</Table.Th><Table.Th>Orders, 30 days</Table.Th><Table.Th>Sales, 30 days</Table.Th></Table.Tr></Table.Thead>
                <Table.Tbody>
                  {s.stores.map((st) => (
                    <Table.Tr key={st.connectionId} data-store={st.label}>
                      <Table.Td><Text size="sm" fw={600}>{st.label}</Text><Text size="xs" c="dimmed">{st.shop}</Text></Table.Td>
                      <Table.Td>{st.last7Days.orders}</Table.Td><Table.Td>{salesText(st.last7Days)}</Table.Td>
                      <Table.Td>{st.last30Days.orders}</Table.Td><Table.Td>{salesText(st.last30Days)}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Card>
            </Grid.Col>
          </Grid>
          <Card withBorder padding="md" radius="md">
            <Title order={2} size="h4" mb="xs">Low stock</Title>
            <Text size="sm" mb="sm" data-testid="low-stock-count">{s.lowStock.count} item{s.lowStock.count === 1 ? '' : 's'} under {s.lowStockThreshold} available{s.lowStock.count > s.lowStock.items.length ? ` (the lowest ${s.lowStock.items.length} listed)` : ''}</Text>
            {s.lowStock.items.length ? (
              <Table.ScrollContainer minWidth={600}>
                <Table striped>
                  <Table.Thead><Table.Tr><Table.Th>Item</Table.Th><Table.Th>SKU</Table.Th><Table.Th>Where</Table.Th><Table.Th>Available</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>
                    {s.lowStock.items.slice(0, 100).map((i) => (
                      <Table.Tr key={`${i.connectionId}-${i.model}-${i.externalId}`}>
                        <Table.Td>{i.externalId}</Table.Td><Table.Td>{i.sku ?? '—'}</Table.Td><Table.Td>{PROVIDER[i.provider] ?? i.provider} · {i.label}</Table.Td><Table.Td>{i.quantity}</Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
            ) : null}
          </Card>
        </>
      ) : null}
      {me.atLeast('admin') && settings.data ? (
        <Card withBorder padding="md" radius="md">
          <Title order={2} size="h4" mb="sm">Settings</Title>
          <ThresholdForm current={settings.data.lowStockThreshold} />
        </Card>
      ) : null}
    </Stack>
  );
}
