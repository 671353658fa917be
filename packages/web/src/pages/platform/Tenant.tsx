import type { PlatformTenant, TenantUsage } from '@keyhold/contract';
import { Anchor, Breadcrumbs, Button, Card, Center, Group, Loader, Modal, NumberInput, Progress, Select, SimpleGrid, Stack, Table, Text, Textarea, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { ErrorAlert } from '../../components/ErrorAlert';
import { platformData } from '../../platform/client';
import { usePlatformAdmin } from '../../platform/session';
import { TenantStatusBadge } from '../../platform/TenantStatusBadge';
import { PLANS } from './Tenants';

function Quota({ label, used, max }: { label: string; used: number; max: number }) {
  return (
    <div>
      <Group justify="space-between"><Text size="sm">{label}</Text><Text size="sm" fw={600} data-usage={label}>{used} of {max}</Text></Group>
      <Progress value={Math.min(100, (used / max) * 100)} color={used >= max ? 'red.8' : 'indigo.8'} aria-label={`${label}: ${used} of ${max}`} />
    </div>
  );
}

function SuspendModal({ tenant, opened, onClose }: { tenant: PlatformTenant; opened: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const form = useForm({ initialValues: { reason: '' }, validate: { reason: (v) => (v.trim() ? null : 'Say why (it goes into the audit log)') } });
  const submit = form.onSubmit(async ({ reason }) => {
    setError(null);
    try {
      await platformData('POST', `/api/admin/tenants/${tenant.id}/suspend`, { reason: reason.trim() });
      notifications.show({ color: 'teal', message: `${tenant.name} is suspended` });
      await queryClient.invalidateQueries({ queryKey: ['platform'] });
      form.reset();
      onClose();
    } catch (e) {
      setError(e);
    }
  });
  return (
    <Modal opened={opened} onClose={onClose} title={`Suspend ${tenant.name}`} centered>
      <form onSubmit={submit} noValidate>
        <Stack gap="sm">
          <Text size="sm">Every session and API key of this organization stops working at once, until it is reactivated.</Text>
          <ErrorAlert error={error} title="Not suspended" />
          <Textarea label="Reason" required data-autofocus {...form.getInputProps('reason')} />
          <Group justify="flex-end"><Button variant="default" onClick={onClose}>Cancel</Button><Button type="submit" color="red.9">Suspend</Button></Group>
        </Stack>
      </form>
    </Modal>
  );
}

function PlanForm({ tenant }: { tenant: PlatformTenant }) {
  const queryClient = useQueryClient();
  const [error, setError] = useState<unknown>(null);
  const form = useForm({ initialValues: { plan: tenant.plan, maxUsers: tenant.maxUsers, maxConnections: tenant.maxConnections } });
  const submit = form.onSubmit(async (v) => {
    setError(null);
    try {
      await platformData('PATCH', `/api/admin/tenants/${tenant.id}`, { plan: v.plan, maxUsers: Number(v.maxUsers), maxConnections: Number(v.maxConnections) });
      notifications.show({ color: 'teal', message: 'Plan and quotas saved' });
      await queryClient.invalidateQueries({ queryKey: ['platform'] });
    } catch (e) {
      setError(e);
    }
  });
  return (
    <form onSubmit={submit}>
      <Stack gap="sm">
        <ErrorAlert error={error} title="Not saved" />
        <Group align="flex-end" gap="sm">
          <Select label="Plan" data={PLANS} allowDeselect={false} w={180} {...form.getInputProps('plan')} />
          <NumberInput label="Max users" min={1} max={100000} w={140} {...form.getInputProps('maxUsers')} />
          <NumberInput label="Max connections" min={1} max={100000} w={160} {...form.getInputProps('maxConnections')} />
          <Button type="submit">Save</Button>
        </Group>
      </Stack>
    </form>
  );
}

export function TenantPage() {
  const { id = '' } = useParams();
  const admin = usePlatformAdmin();
  const queryClient = useQueryClient();
  const tenant = useQuery({ queryKey: ['platform', 'tenant', id], queryFn: () => platformData<PlatformTenant>('GET', `/api/admin/tenants/${id}`) });
  const usage = useQuery({ queryKey: ['platform', 'usage', id], queryFn: () => platformData<TenantUsage>('GET', `/api/admin/tenants/${id}/usage`) });
  const [suspending, setSuspending] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const t = tenant.data;
  const reactivate = async () => {
    setError(null);
    try {
      await platformData('POST', `/api/admin/tenants/${id}/reactivate`, {});
      notifications.show({ color: 'teal', message: `${t?.name} is active again` });
      await queryClient.invalidateQueries({ queryKey: ['platform'] });
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Stack gap="lg">
      <Breadcrumbs><Anchor component={Link} to="/platform/tenants">Tenants</Anchor><Text size="sm">{t?.name ?? '…'}</Text></Breadcrumbs>
      {tenant.isPending ? <Center h={200}><Loader aria-label="Loading tenant" /></Center> : null}
      <ErrorAlert error={tenant.error ?? error} />
      {t ? (
        <>
          <Group justify="space-between">
            <Group gap="sm"><Title order={1} size="h2">{t.name}</Title><TenantStatusBadge status={t.status} /></Group>
            {admin.may('tenants:suspend') ? (
              t.status === 'suspended'
                ? <Button onClick={() => void reactivate()}>Reactivate</Button>
                : <Button color="red.9" variant="outline" onClick={() => setSuspending(true)}>Suspend</Button>
            ) : null}
          </Group>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <Card withBorder padding="md" radius="md">
              <Title order={2} size="h4" mb="sm">Details</Title>
              <Table variant="vertical" layout="fixed">
                <Table.Tbody>
                  <Table.Tr><Table.Th w={160}>Slug</Table.Th><Table.Td>{t.slug}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Th>Plan</Table.Th><Table.Td>{t.plan}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Th>Trial ends</Table.Th><Table.Td>{t.trialEndsAt ? new Date(t.trialEndsAt).toLocaleDateString() : '—'}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Th>Created</Table.Th><Table.Td>{new Date(t.createdAt).toLocaleString()}</Table.Td></Table.Tr>
                  <Table.Tr><Table.Th>Id</Table.Th><Table.Td><Text size="xs" ff="monospace">{t.id}</Text></Table.Td></Table.Tr>
                </Table.Tbody>
              </Table>
            </Card>
            <Card withBorder padding="md" radius="md">
              <Title order={2} size="h4" mb="sm">Usage</Title>
              <ErrorAlert error={usage.error} />
              {usage.data ? (
                <Stack gap="sm">
                  <Quota label="Users" used={usage.data.users} max={usage.data.maxUsers} />
                  <Quota label="Connections" used={usage.data.connections} max={usage.data.maxConnections} />
                  <Text size="sm">API keys: {usage.data.apiKeys}</Text>
                  <Text size="sm">Connections by status: {Object.entries(usage.data.connectionsByStatus).map(([k, v]) => `${k.replace('_', ' ')} ${v}`).join(' · ') || 'none'}</Text>
                </Stack>
              ) : null}
            </Card>
          </SimpleGrid>
          {admin.may('tenants:update') ? (
            <Card withBorder padding="md" radius="md">
              <Title order={2} size="h4" mb="sm">Plan and quotas</Title>
              <PlanForm key={t.updatedAt} tenant={t} />
            </Card>
          ) : null}
          <SuspendModal tenant={t} opened={suspending} onClose={() => setSuspending(false)} />
        </>
      ) : null}
    </Stack>
  );
}
