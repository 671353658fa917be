import { Button, Card, Checkbox, Group, Loader, MultiSelect, Select, SimpleGrid, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { api } from '../api/client';
import { type NotificationSettings, useNotificationSettings } from '../api/data';
import { useCatalog, useConnections } from '../api/queries';
import { ErrorAlert } from '../components/ErrorAlert';

/** The events that notify people (domains/notifications); each row says who is emailed and whether chat hears of it. */
const ALERTS = [
  { type: 'connection.needs_reauth', label: 'A connection needs reconnecting' },
  { type: 'connection.refresh_failed', label: 'A token refresh failed' },
  { type: 'sync.failed', label: 'A sync failed 3 times in a row' },
  { type: 'webhook_endpoint.disabled', label: 'A webhook endpoint was disabled' },
] as const;
const ROLES = [{ value: 'owner', label: 'Owners' }, { value: 'admin', label: 'Admins' }, { value: 'member', label: 'Members' }, { value: 'viewer', label: 'Viewers' }];

// Rules by ALERTS' index: event types hold dots, which form paths read as nesting.
type Values = { emailRules: string[][]; chatEvents: string[]; chatProvider: string | null; chatChannel: string; emailProvider: string | null; emailFrom: string };

const toValues = (s: NotificationSettings): Values => ({
  // Unlisted types email the owners (the server's default), so the form shows that.
  emailRules: ALERTS.map((a) => s.emailRules[a.type] ?? ['owner']),
  chatEvents: s.chatEvents,
  chatProvider: s.chat?.provider ?? null,
  chatChannel: s.chat?.channel ?? '',
  emailProvider: s.emailSender?.provider ?? null,
  emailFrom: s.emailSender?.from ?? '',
});

/** Who hears of what, the chat channel for alerts and the organization's own email sender. */
export function NotificationSettingsCard() {
  const settings = useNotificationSettings();
  const catalog = useCatalog();
  const connections = useConnections(true);
  const queryClient = useQueryClient();
  const form = useForm<Values>({ initialValues: toValues({ emailRules: {}, chatEvents: [], chat: null, emailSender: null }) });
  useEffect(() => {
    if (settings.data) form.setValues(toValues(settings.data));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [settings.data]);
  const save = useMutation({
    mutationFn: (v: Values) => api<NotificationSettings>('PUT', '/api/notifications/settings', {
      body: {
        emailRules: Object.fromEntries(ALERTS.map((a, i) => [a.type, v.emailRules[i] ?? []])),
        chatEvents: v.chatEvents,
        chat: v.chatProvider ? { provider: v.chatProvider, channel: v.chatChannel.trim() } : null,
        emailSender: v.emailProvider ? { provider: v.emailProvider, from: v.emailFrom.trim() } : null,
      },
    }),
    onSuccess: (s) => {
      queryClient.setQueryData(['notification-settings'], s);
      notifications.show({ color: 'green', title: 'Saved', message: 'Notification settings saved.' });
    },
  });
  // The organization's own connections that could carry alerts, by the catalog's category.
  const providersIn = (category: string) => {
    const ids = new Set(catalog.data?.providers.filter((p) => p.category === category).map((p) => p.id));
    return [...new Set(connections.data?.filter((c) => ids.has(c.service_name)).map((c) => c.service_name))].map((id) => ({
      value: id, label: catalog.data?.providers.find((p) => p.id === id)?.displayName ?? id,
    }));
  };

  if (settings.isPending) return <Loader size="sm" aria-label="Loading settings" />;
  if (settings.error) return <ErrorAlert error={settings.error} title="Settings could not be shown" />;
  return (
    <Card withBorder radius="md">
      <Title order={2} size="h4" mb="sm">Who hears of what</Title>
      <form onSubmit={form.onSubmit((v) => save.mutate(v))} noValidate>
        <Stack gap="md">
          <Table aria-label="Alert recipients" layout="fixed">
            <Table.Thead><Table.Tr><Table.Th>Alert</Table.Th><Table.Th w="45%">Email to</Table.Th><Table.Th w={110}>Chat</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {ALERTS.map((a, i) => (
                <Table.Tr key={a.type}>
                  <Table.Td><Text size="sm">{a.label}</Text></Table.Td>
                  <Table.Td>
                    <MultiSelect aria-label={`Email for: ${a.label}`} data={ROLES} placeholder={form.values.emailRules[i]?.length ? undefined : 'Nobody'} size="xs" {...form.getInputProps(`emailRules.${i}`)} />
                  </Table.Td>
                  <Table.Td>
                    <Checkbox aria-label={`Chat for: ${a.label}`} checked={form.values.chatEvents.includes(a.type)}
                      onChange={(ev) => form.setFieldValue('chatEvents', ev.currentTarget.checked ? [...form.values.chatEvents, a.type] : form.values.chatEvents.filter((t) => t !== a.type))} />
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            <Stack gap="xs">
              <Select label="Chat alerts through" placeholder="No chat alerts" clearable data={providersIn('Messaging')} {...form.getInputProps('chatProvider')} />
              <TextInput label="Channel" placeholder="#alerts" disabled={!form.values.chatProvider} {...form.getInputProps('chatChannel')} />
            </Stack>
            <Stack gap="xs">
              <Select label="Send email from" placeholder="Keyhold's sender" clearable data={providersIn('Email')} {...form.getInputProps('emailProvider')} />
              <TextInput label="From address" placeholder="Alerts <alerts@acme.example>" disabled={!form.values.emailProvider} {...form.getInputProps('emailFrom')} />
            </Stack>
          </SimpleGrid>
          <ErrorAlert error={save.error} title="Not saved" />
          <Group justify="flex-end"><Button type="submit" loading={save.isPending}>Save settings</Button></Group>
        </Stack>
      </form>
    </Card>
  );
}
