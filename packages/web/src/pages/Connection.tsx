import { Alert, Anchor, Breadcrumbs, Button, Card, Center, Code, CopyButton, Group, Loader, Modal, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconEye, IconKey, IconPlugConnected, IconPlugConnectedX, IconRefresh, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api } from '../api/client';
import { useConnectionSyncs } from '../api/data';
import { useCatalog, useConnection } from '../api/queries';
import type { Revealed } from '../api/types';
import { useMe } from '../auth/session';
import { ErrorAlert } from '../components/ErrorAlert';
import { MfaModal } from '../components/MfaModal';
import { when } from '../data/format';
import { RotateForm } from '../integrations/RotateForm';
import { AUTHORIZE_PARAMS, isOAuth } from '../integrations/fields';
import { StatusPill, statusOf } from '../integrations/status';
import { ConnectionSyncs } from '../data/ConnectionSyncs';
import { ConnectionTimeline } from '../data/ConnectionTimeline';
import { WebhookUrl } from '../data/WebhookUrl';


type Guarded = { kind: 'rotate'; body: { apiKey?: string; apiSecret?: string } } | { kind: 'reveal' } | { kind: 'delete' } | { kind: 'disconnect' };

export function ConnectionPage() {
  const { id = '' } = useParams();
  const me = useMe();
  const canManage = me.atLeast('admin');
  const isOwner = me.atLeast('owner');
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const connection = useConnection(id);
  const catalog = useCatalog();
  const syncs = useConnectionSyncs(id);
  const [rotating, setRotating] = useState(false);
  // Kept after closing, so the modal's text does not change while it fades out.
  const [guarded, setGuarded] = useState<Guarded | null>(null);
  const [mfaOpen, setMfaOpen] = useState(false);
  const ask = (g: Guarded) => {
    setGuarded(g);
    setMfaOpen(true);
  };
  const [revealed, setRevealed] = useState<Revealed | null>(null);

  const test = useMutation({
    mutationFn: () => api<{ message: string }>('POST', `/api/api-credentials/${id}/test`),
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['connections'] }),
    onSuccess: () => notifications.show({ color: 'green', title: 'Test passed', message: 'The provider accepted the credentials.' }),
  });

  // OAuth connections get new tokens by consenting again (same label: the same connection).
  const reconnect = useMutation({
    mutationFn: (q: URLSearchParams) => api<{ authUrl: string }>('GET', `/api/integrations/${encodeURIComponent(connection.data!.service_name)}/authorize?${q}`),
    onSuccess: ({ authUrl }) => window.location.assign(authUrl),
  });

  if (connection.isPending) return <Center py="xl"><Loader aria-label="Loading connection" /></Center>;
  if (connection.error) return <ErrorAlert error={connection.error} title="This connection could not be shown" />;
  const c = connection.data;
  const provider = catalog.data?.providers.find((p) => p.id === c.service_name);
  const name = provider?.displayName ?? c.service_name;
  const oauth = provider ? isOAuth(provider) : false;
  // The newest success of any of its syncs (undefined: the provider has no syncs).
  const lastSynced = syncs.data && syncs.data.length > 0
    ? syncs.data.map((s) => s.lastSuccessAt).filter((t): t is string => t !== null).sort().pop() ?? null
    : undefined;
  const startReconnect = () => reconnect.mutate(new URLSearchParams([
    ['label', c.label],
    ...AUTHORIZE_PARAMS.filter((k) => c.config[k]).map((k) => [k, c.config[k]!] as [string, string]),
  ]));

  async function runGuarded(code: string) {
    if (!guarded) return;
    if (guarded.kind === 'rotate') {
      await api('PUT', `/api/api-credentials/${id}`, { body: guarded.body, mfaCode: code });
      notifications.show({ color: 'green', title: 'Rotated', message: `${name} now uses the new credentials.` });
    } else if (guarded.kind === 'reveal') {
      setRevealed(await api<Revealed>('GET', `/api/api-credentials/${id}/reveal`, { mfaCode: code }));
    } else if (guarded.kind === 'disconnect') {
      await api('POST', `/api/integrations/${id}/disconnect`, { mfaCode: code, body: {} });
      notifications.show({ color: 'green', title: 'Disconnected', message: `${name} (${c.label}) was disconnected; Reconnect brings it back.` });
    } else {
      await api('DELETE', `/api/api-credentials/${id}`, { mfaCode: code });
      notifications.show({ color: 'green', title: 'Deleted', message: `${name} (${c.label}) was deleted.` });
      queryClient.removeQueries({ queryKey: ['connections', id] });
      navigate('/integrations');
    }
    await queryClient.invalidateQueries({ queryKey: ['connections'] });
    await queryClient.invalidateQueries({ queryKey: ['events', id] });
  }

  const guardedText = {
    rotate: { title: 'Confirm rotation', description: `Replace the credentials of ${name} (${c.label}).`, confirm: 'Rotate' },
    reveal: { title: 'Reveal credentials', description: 'The plaintext credentials are shown once on this screen; revealing is audited.', confirm: 'Reveal' },
    disconnect: { title: `Disconnect ${name} (${c.label})`, description: `Keyhold revokes its access at ${name} and stops using this connection; it keeps its id for a reconnect.`, confirm: 'Disconnect' },
    delete: { title: `Delete ${name} (${c.label})`, description: 'The credentials are removed for good; calls through Keyhold to this account stop.', confirm: 'Delete' },
  }[guarded?.kind ?? 'rotate'];

  return (
    <Stack gap="lg">
      <Breadcrumbs>
        <Anchor component={Link} to="/integrations">Integrations</Anchor>
        <Text span>{name}</Text>
      </Breadcrumbs>
      <Group justify="space-between">
        <Group gap="sm">
          <Title order={1} size="h2">{name} · {c.label}</Title>
          <StatusPill status={statusOf(c)} />
        </Group>
        {canManage ? (
          <Group gap="xs">
            <Button variant="default" leftSection={<IconPlugConnected size={16} aria-hidden />} onClick={() => test.mutate()} loading={test.isPending}>Test</Button>
            {oauth ? <Button variant="default" leftSection={<IconRefresh size={16} aria-hidden />} onClick={startReconnect} loading={reconnect.isPending || reconnect.isSuccess}>Reconnect</Button> : null}
            {oauth && isOwner ? <Button variant="default" leftSection={<IconPlugConnectedX size={16} aria-hidden />} onClick={() => ask({ kind: 'disconnect' })}>Disconnect</Button> : null}
            {!oauth && provider?.credentialFields.some((f) => f.secret) ? (
              <Button variant="default" leftSection={<IconKey size={16} aria-hidden />} onClick={() => setRotating(true)}>Rotate</Button>
            ) : null}
            {isOwner ? <Button variant="default" leftSection={<IconEye size={16} aria-hidden />} onClick={() => ask({ kind: 'reveal' })}>Reveal</Button> : null}
            {isOwner ? <Button color="red" variant="light" leftSection={<IconTrash size={16} aria-hidden />} onClick={() => ask({ kind: 'delete' })}>Delete</Button> : null}
          </Group>
        ) : null}
      </Group>
      <ErrorAlert error={test.error} title="Test failed" />
      <ErrorAlert error={reconnect.error} title="Could not reconnect" />

      <SimpleGrid cols={{ base: 1, md: 2 }} spacing="lg">
        <Card withBorder radius="md">
          <Title order={2} size="h4" mb="sm">Details</Title>
          <Table variant="vertical" withRowBorders={false} layout="fixed">
            <Table.Tbody>
              <Table.Tr><Table.Th w={140}>Key</Table.Th><Table.Td><Code>{c.api_key}</Code></Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Created</Table.Th><Table.Td>{when(c.created_at)}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Updated</Table.Th><Table.Td>{when(c.updated_at)}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Last verified</Table.Th><Table.Td>{when(c.last_verified)}</Table.Td></Table.Tr>
              <Table.Tr><Table.Th>Last used</Table.Th><Table.Td>{when(c.last_used)}</Table.Td></Table.Tr>
              {oauth ? <Table.Tr><Table.Th>Last refreshed</Table.Th><Table.Td>{when(c.last_refreshed)}</Table.Td></Table.Tr> : null}
              {c.token_expires_at ? <Table.Tr><Table.Th>Token expires</Table.Th><Table.Td>{when(c.token_expires_at)}</Table.Td></Table.Tr> : null}
              {lastSynced !== undefined ? <Table.Tr><Table.Th>Last synced</Table.Th><Table.Td>{when(lastSynced)}</Table.Td></Table.Tr> : null}
              {Object.entries(c.config).map(([k, v]) => (
                <Table.Tr key={k}><Table.Th>{provider?.configFields.find((f) => f.name === k)?.label ?? k}</Table.Th><Table.Td>{v}</Table.Td></Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {c.webhook_url ? <WebhookUrl url={c.webhook_url} provider={provider} name={name} /> : null}
        </Card>
        <ConnectionTimeline connectionId={id} enabled={canManage} />
      </SimpleGrid>
      <ConnectionSyncs connectionId={id} canRun={canManage} name={`${name} (${c.label})`} />

      {provider ? (
        <Modal opened={rotating} onClose={() => setRotating(false)} title={`Rotate ${name} (${c.label})`} size="lg">
          <RotateForm provider={provider} onSubmit={(body) => { setRotating(false); ask({ kind: 'rotate', body }); }} />
        </Modal>
      ) : null}
      <MfaModal
        opened={mfaOpen}
        title={guardedText.title}
        description={guardedText.description}
        confirmLabel={guardedText.confirm}
        danger={guarded?.kind === 'delete' || guarded?.kind === 'disconnect'}
        onClose={() => setMfaOpen(false)}
        onConfirm={runGuarded}
      />
      <Modal opened={revealed !== null} onClose={() => setRevealed(null)} title="Credentials" size="lg">
        <Stack gap="sm">
          <Alert color="yellow" title="Sensitive">Anyone who sees these can act as your organization at {name}.</Alert>
          {revealed ? Object.entries(revealed.credentials).map(([k, v]) => (
            <Group key={k} gap="xs" wrap="nowrap">
              <Text size="sm" w={160}>{provider?.credentialFields.find((f) => f.name === k)?.label ?? k}</Text>
              <Code style={{ overflowWrap: 'anywhere', flex: 1, minWidth: 0 }}>{v}</Code>
              <CopyButton value={v}>{({ copied, copy }) => <Button size="xs" variant="light" onClick={copy} style={{ flexShrink: 0 }}>{copied ? 'Copied' : 'Copy'}</Button>}</CopyButton>
            </Group>
          )) : null}
        </Stack>
      </Modal>
    </Stack>
  );
}
