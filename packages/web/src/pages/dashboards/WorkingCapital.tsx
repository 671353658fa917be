import { Alert, Card, Center, Group, Loader, SegmentedControl, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { IconAlertTriangle } from '@tabler/icons-react';
import { useState } from 'react';
import { useWorkingCapital, useWorkingCapitalHistory } from '../../api/dashboards';
import { DashboardError } from '../../dashboards/ConnectFirst';
import { money, when } from '../../dashboards/format';
import { LineFigure } from '../../dashboards/lazy-charts';

const SOURCE = { xero: 'Xero', quickbooks: 'QuickBooks' } as const;

function Figure({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <Card withBorder padding="md" radius="md">
      <Text size="sm" c="dimmed">{label}</Text>
      <Text fz={26} fw={700} data-figure={label}>{value}</Text>
      {hint ? <Text size="xs" c="dimmed">{hint}</Text> : null}
    </Card>
  );
}

export function WorkingCapitalPage() {
  const current = useWorkingCapital();
  const [days, setDays] = useState('30');
  const history = useWorkingCapitalHistory(Number(days), current.isSuccess);
  const wc = current.data;
  return (
    <Stack gap="lg">
      <Title order={1} size="h2">Working capital</Title>
      {current.isPending ? <Center h={200}><Loader aria-label="Loading working capital" /></Center> : null}
      {current.error ? (
        <DashboardError error={current.error} what="your accounting" body="Working capital is computed from your accounting system's open invoices and bills (Xero or QuickBooks), plus stock value from Unleashed when connected." />
      ) : null}
      {wc ? (
        <>
          {wc.warning || wc.fromSnapshot ? (
            <Alert color="yellow" icon={<IconAlertTriangle aria-hidden />} title={wc.fromSnapshot ? 'Showing the last stored figures' : 'These figures may be out of date'}>
              {wc.warning ?? 'The accounting system could not be reached; these are the last stored daily figures.'}
            </Alert>
          ) : null}
          <Text size="sm" c="dimmed">From {SOURCE[wc.source]}{wc.currency ? `, in ${wc.currency}` : ''} · synced {when(wc.asOf)}</Text>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }}>
            <Figure label="Working capital" value={money(wc.workingCapital, wc.currency)} hint="Receivables + inventory − payables" />
            <Figure label="Accounts receivable" value={money(wc.accountsReceivable, wc.currency)} />
            <Figure label="Accounts payable" value={money(wc.accountsPayable, wc.currency)} />
            <Figure label="Inventory value" value={money(wc.inventoryValue, wc.currency)} hint={wc.inventoryValue === null ? 'No stock source counted' : 'Stock on hand at cost'} />
            <Figure label="Current ratio" value={wc.currentRatio === null ? '—' : wc.currentRatio.toFixed(2)} hint="(Receivables + inventory) ÷ payables" />
            <Figure label="Cash balance" value={money(wc.cashBalance, wc.currency)} hint={wc.cashBalance === null ? 'No cash source synced yet' : undefined} />
          </SimpleGrid>
          <Card withBorder padding="md" radius="md">
            <Group justify="space-between" mb="sm">
              <Title order={2} size="h4">History</Title>
              <SegmentedControl aria-label="Period" value={days} onChange={setDays} data={[{ value: '30', label: '30 days' }, { value: '90', label: '90 days' }, { value: '365', label: '1 year' }]} />
            </Group>
            {history.error ? <DashboardError error={history.error} what="your accounting" body="" /> : null}
            {history.data && history.data.length === 0 ? <Text size="sm">No daily figures stored yet: Keyhold stores one each day at 23:50 UTC.</Text> : null}
            {history.data && history.data.length > 0 ? (
              <>
                <LineFigure
                  label={`Working capital, receivables and payables over the last ${days} days`}
                  data={history.data.map((s) => ({ ...s }))}
                  x="date"
                  series={[
                    { key: 'workingCapital', label: 'Working capital', color: 'var(--mantine-color-indigo-8)' },
                    { key: 'accountsReceivable', label: 'Receivable', color: 'var(--mantine-color-teal-8)' },
                    { key: 'accountsPayable', label: 'Payable', color: 'var(--mantine-color-red-8)' },
                  ]}
                />
                <Table.ScrollContainer minWidth={500} mt="sm">
                  <Table striped stickyHeader>
                    <Table.Thead><Table.Tr><Table.Th>Day</Table.Th><Table.Th>Working capital</Table.Th><Table.Th>Receivable</Table.Th><Table.Th>Payable</Table.Th><Table.Th>Ratio</Table.Th></Table.Tr></Table.Thead>
                    <Table.Tbody>
                      {[...history.data].reverse().map((s) => (
                        <Table.Tr key={s.date}>
                          <Table.Td>{s.date}</Table.Td><Table.Td>{money(s.workingCapital, s.currency)}</Table.Td><Table.Td>{money(s.accountsReceivable, s.currency)}</Table.Td>
                          <Table.Td>{money(s.accountsPayable, s.currency)}</Table.Td><Table.Td>{s.currentRatio?.toFixed(2) ?? '—'}</Table.Td>
                        </Table.Tr>
                      ))}
                    </Table.Tbody>
                  </Table>
                </Table.ScrollContainer>
              </>
            ) : null}
          </Card>
        </>
      ) : null}
    </Stack>
  );
}
