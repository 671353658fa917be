import { Anchor, Button, Card, Center, Group, Loader, Modal, Stack, Table, Text, Title } from '@mantine/core';
import { IconPlus } from '@tabler/icons-react';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api } from '../../api/client';
import { type WebhookEndpointWithSecret, useWebhookEndpoints } from '../../api/data';
import { ErrorAlert } from '../../components/ErrorAlert';
import { MfaModal } from '../../components/MfaModal';
import { EndpointForm, type EndpointValues } from '../../data/EndpointForm';
import { EndpointStatus } from '../../data/EndpointStatus';
import { SecretOnce } from '../../data/SecretOnce';
import { when } from '../../data/format';

/** The organization's outbound webhook endpoints (owner, admin); adding one asks for the step-up code. */
export function WebhookEndpointsPage() {
  const endpoints = useWebhookEndpoints();
  const queryClient = useQueryClient();
  const navigate = useNavigate();
  const [adding, setAdding] = useState(false);
  const [draft, setDraft] = useState<EndpointValues | null>(null);
  const [mfaOpen, setMfaOpen] = useState(false);
  const [created, setCreated] = useState<WebhookEndpointWithSecret | null>(null);

  async function create(code: string) {
    if (!draft) return;
    const ep = await api<WebhookEndpointWithSecret>('POST', '/api/webhook-endpoints', { body: draft, mfaCode: code });
    await queryClient.invalidateQueries({ queryKey: ['webhook-endpoints'] });
    setCreated(ep);
  }

  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <div>
          <Title order={1} size="h2">Webhook endpoints</Title>
          <Text c="dimmed" size="sm">Your own URLs that receive Keyhold's events, signed (Standard Webhooks).</Text>
        </div>
        {endpoints.data ? <Button leftSection={<IconPlus size={16} aria-hidden />} onClick={() => setAdding(true)}>Add endpoint</Button> : null}
      </Group>
      {endpoints.isPending ? <Center py="xl"><Loader aria-label="Loading endpoints" /></Center> : null}
      <ErrorAlert error={endpoints.error} title="Endpoints could not be shown" />
      {endpoints.data ? (
        <Card withBorder radius="md" p={0}>
          {endpoints.data.length === 0 ? <Text p="lg" c="dimmed" size="sm">No endpoints yet. Add one to receive connection, sync and webhook events.</Text> : (
            <Table.ScrollContainer minWidth={720}>
              <Table verticalSpacing="sm" horizontalSpacing="md" aria-label="Webhook endpoints">
                <Table.Thead>
                  <Table.Tr><Table.Th>URL</Table.Th><Table.Th>Events</Table.Th><Table.Th>Status</Table.Th><Table.Th>Signing</Table.Th><Table.Th>Created</Table.Th></Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {endpoints.data.map((e) => (
                    <Table.Tr key={e.id} data-endpoint={e.id}>
                      <Table.Td>
                        <Anchor component={Link} to={`/webhooks/endpoints/${e.id}`} style={{ overflowWrap: 'anywhere' }}>{e.url}</Anchor>
                        {e.description ? <Text size="xs" c="dimmed">{e.description}</Text> : null}
                      </Table.Td>
                      <Table.Td><Text size="sm">{e.eventTypes.includes('*') ? 'every event' : e.eventTypes.join(', ')}</Text></Table.Td>
                      <Table.Td><EndpointStatus endpoint={e} /></Table.Td>
                      <Table.Td><Text size="sm">{e.signatureScheme === 'v1a' ? 'ed25519 (v1a)' : 'HMAC (v1)'}</Text></Table.Td>
                      <Table.Td><Text size="sm">{when(e.createdAt)}</Text></Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          )}
        </Card>
      ) : null}

      <Modal opened={adding} onClose={() => setAdding(false)} title="Add a webhook endpoint" size="lg">
        <EndpointForm
          initial={{ url: '', description: '', eventTypes: ['*'] }}
          withUrl
          submitLabel="Continue"
          onSubmit={(v) => { setDraft(v); setAdding(false); setMfaOpen(true); }}
        />
      </Modal>
      <MfaModal
        opened={mfaOpen}
        title="Confirm the new endpoint"
        description={`Signed events will be sent to ${draft?.url ?? ''}.`}
        confirmLabel="Add endpoint"
        onClose={() => setMfaOpen(false)}
        onConfirm={create}
      />
      <SecretOnce secret={created ? (created.secret ?? null) : null} onClose={() => { const id = created?.id; setCreated(null); if (id) navigate(`/webhooks/endpoints/${id}`); }} />
    </Stack>
  );
}
