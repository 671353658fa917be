import { Alert, Badge, Button, Center, Checkbox, Group, Loader, Modal, Select, SimpleGrid, Stack, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { IconKey } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { type ApiKey, type CreatedApiKey, KEY_SCOPES, useApiKeys } from '../../api/people';
import type { Role } from '../../api/types';
import { useMe } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { MfaModal } from '../../components/MfaModal';
import { ROLE_LABEL, grantable, when } from '../../people/roles';
import { ShownOnce } from '../../people/ShownOnce';

/** A key holding it reads plaintext secrets: the owner creates it with a code, like a reveal. */
const READS_SECRETS = 'credentials:read';
type NewKey = { name: string; role: Role; scopes: string[] };

/** The organization's API keys: created with scopes, shown once, revoked. */
export function ApiKeysPage() {
  const me = useMe();
  const canManage = me.atLeast('admin');
  const keys = useApiKeys();
  const queryClient = useQueryClient();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);
  const revoke = useMutation({
    mutationFn: (k: ApiKey) => api('DELETE', `/api/api-keys/${k.id}`),
    onSuccess: (_d, k) => {
      notifications.show({ color: 'green', title: 'Revoked', message: `${k.name} stops working now.` });
      setRevoking(null);
    },
    onSettled: () => queryClient.invalidateQueries({ queryKey: ['api-keys'] }),
  });

  if (!canManage) return <Stack><Title order={1} size="h2">API keys</Title><Text>Only owners and admins manage API keys.</Text></Stack>;
  if (keys.isPending) return <Center py="xl"><Loader aria-label="Loading API keys" /></Center>;
  if (keys.error) return <ErrorAlert error={keys.error} title="API keys could not be loaded" />;

  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={1} size="h2">API keys</Title>
        <Button leftSection={<IconKey size={16} aria-hidden />} onClick={() => setCreating(true)}>Create an API key</Button>
      </Group>
      <Text c="dimmed" size="sm">Your services call Keyhold with these keys. Each acts with a role and only the scopes it holds.</Text>
      {keys.data.length === 0 ? <Text>No API keys yet.</Text> : (
        <Table.ScrollContainer minWidth={760}>
          <Table striped verticalSpacing="sm">
            <Table.Thead>
              <Table.Tr><Table.Th>Name</Table.Th><Table.Th>Key</Table.Th><Table.Th>Role</Table.Th><Table.Th>Scopes</Table.Th><Table.Th>Created</Table.Th><Table.Th>Last used</Table.Th><Table.Th><VisuallyHidden>Actions</VisuallyHidden></Table.Th></Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {keys.data.map((k) => (
                <Table.Tr key={k.id} data-key={k.name}>
                  <Table.Td>{k.name}</Table.Td>
                  <Table.Td><Text ff="monospace" size="sm">{k.prefix}…</Text></Table.Td>
                  <Table.Td>{k.role ? ROLE_LABEL[k.role as Role] ?? k.role : '—'}</Table.Td>
                  <Table.Td><Group gap={4}>{k.scopes.map((s) => <Badge c="dark.7" key={s} variant="outline" color="gray" tt="none">{s}</Badge>)}</Group></Table.Td>
                  <Table.Td><Text size="sm">{when(k.createdAt)}</Text></Table.Td>
                  <Table.Td><Text size="sm">{when(k.lastUsedAt)}</Text></Table.Td>
                  <Table.Td><Button size="xs" color="red" variant="subtle" aria-label={`Revoke ${k.name}`} onClick={() => setRevoking(k)}>Revoke</Button></Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      <CreateKeyModal opened={creating} myRole={me.role} onClose={() => setCreating(false)} />
      <Modal opened={revoking !== null} onClose={() => setRevoking(null)} title={`Revoke ${revoking?.name ?? ''}`} centered>
        <Stack gap="sm">
          <Text size="sm">Calls with this key are refused from now on. This cannot be undone.</Text>
          <ErrorAlert error={revoke.error} title="Not revoked" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRevoking(null)}>Cancel</Button>
            <Button color="red.9" loading={revoke.isPending} onClick={() => revoking && revoke.mutate(revoking)}>Revoke</Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function CreateKeyModal({ opened, myRole, onClose }: { opened: boolean; myRole: Role; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [needsCode, setNeedsCode] = useState<NewKey | null>(null);
  const form = useForm<NewKey>({
    initialValues: { name: '', role: 'member', scopes: [] },
    validate: {
      name: (v) => (v.trim() ? null : 'Name the key after what uses it'),
      scopes: (v) => (v.length > 0 ? null : 'Choose at least one scope'),
    },
  });
  const create = useMutation({
    mutationFn: ({ body, mfaCode }: { body: NewKey; mfaCode?: string }) =>
      api<CreatedApiKey>('POST', '/api/api-keys', { body: { ...body, name: body.name.trim() }, ...(mfaCode ? { mfaCode } : {}) }),
    onSuccess: (k) => {
      setCreated(k);
      void queryClient.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const close = () => {
    form.reset();
    create.reset();
    setCreated(null);
    onClose();
  };
  const submit = form.onSubmit((v) => (v.scopes.includes(READS_SECRETS) ? setNeedsCode(v) : create.mutate({ body: v })));
  const keyRoles = grantable(myRole).filter((r) => r !== 'owner');
  return (
    <>
      <Modal opened={opened && needsCode === null} onClose={close} title={created ? `API key ${created.name}` : 'Create an API key'} centered size="lg">
        {created ? (
          <Stack gap="sm">
            <ShownOnce label="API key" value={created.key} note="Copy it now: Keyhold keeps only its hash and cannot show it again." />
            <Group justify="flex-end"><Button onClick={close}>Done</Button></Group>
          </Stack>
        ) : (
          <form onSubmit={submit} noValidate>
            <Stack gap="sm">
              <ErrorAlert error={create.error} title="Not created" />
              <TextInput label="Name" description="What uses it, e.g. billing-service" required data-autofocus {...form.getInputProps('name')} />
              <Select label="Role" description="At most your own" allowDeselect={false} data={keyRoles.map((r) => ({ value: r, label: ROLE_LABEL[r] }))} {...form.getInputProps('role')} />
              <Checkbox.Group label="Scopes" description="What the key may do" required {...form.getInputProps('scopes')}>
                <SimpleGrid cols={{ base: 1, sm: 2 }} spacing={6} mt={6}>
                  {KEY_SCOPES.map((s) => <Checkbox key={s} value={s} label={s} />)}
                </SimpleGrid>
              </Checkbox.Group>
              {form.values.scopes.includes(READS_SECRETS) ? (
                <Alert color="yellow" title="Reads plaintext secrets">A key with {READS_SECRETS} reads every connection's secrets: only the owner creates one, with a code from the authenticator app.</Alert>
              ) : null}
              <Group justify="flex-end">
                <Button variant="default" onClick={close}>Cancel</Button>
                <Button type="submit" loading={create.isPending}>Create</Button>
              </Group>
            </Stack>
          </form>
        )}
      </Modal>
      <MfaModal
        opened={needsCode !== null}
        title="Confirm a key that reads secrets"
        description={`Creating ${needsCode?.name ?? 'this key'} with ${READS_SECRETS} needs a code from your authenticator app.`}
        confirmLabel="Create"
        onClose={() => setNeedsCode(null)}
        onConfirm={async (code) => {
          if (needsCode) await create.mutateAsync({ body: needsCode, mfaCode: code });
        }}
      />
    </>
  );
}
