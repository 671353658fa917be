import { Badge, Button, Center, Group, Loader, Modal, Radio, Select, Stack, Switch, Table, Text, TextInput, Title, VisuallyHidden } from '@mantine/core';
import { useForm } from '@mantine/form';
import { notifications } from '@mantine/notifications';
import { IconUserPlus } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../api/client';
import { type User, useUsers } from '../../api/people';
import type { Role } from '../../api/types';
import { useMe } from '../../auth/session';
import { ErrorAlert } from '../../components/ErrorAlert';
import { ROLE_LABEL, grantable, mayManage, when } from '../../people/roles';
import { ShownOnce } from '../../people/ShownOnce';

type Invited = { user: User; temporaryPassword?: string; inviteToken?: string };

/** The organization's people: invite, change roles, switch off and remove (owner and admin). */
export function UsersPage() {
  const me = useMe();
  const canManage = me.atLeast('admin');
  const users = useUsers(canManage);
  const queryClient = useQueryClient();
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<User | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['users'] });

  const update = useMutation({
    mutationFn: ({ id, ...body }: { id: string; role?: Role; isActive?: boolean }) => api<User>('PATCH', `/api/users/${id}`, { body }),
    onSuccess: (u) => notifications.show({ color: 'green', title: 'Saved', message: `${u.email} is now ${ROLE_LABEL[u.role]}${u.isActive ? '' : ' (switched off)'}.` }),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (u: User) => api('DELETE', `/api/users/${u.id}`),
    onSuccess: (_d, u) => {
      notifications.show({ color: 'green', title: 'Removed', message: `${u.email} no longer has access.` });
      setRemoving(null);
    },
    onSettled: refresh,
  });

  if (!canManage) return <Stack><Title order={1} size="h2">Users & roles</Title><Text>Only owners and admins manage the organization's people.</Text></Stack>;
  if (users.isPending) return <Center py="xl"><Loader aria-label="Loading users" /></Center>;
  if (users.error) return <ErrorAlert error={users.error} title="Users could not be loaded" />;

  return (
    <Stack gap="lg">
      <Group justify="space-between">
        <Title order={1} size="h2">Users & roles</Title>
        <Button leftSection={<IconUserPlus size={16} aria-hidden />} onClick={() => setInviting(true)}>Invite a user</Button>
      </Group>
      <ErrorAlert error={update.error} title="Not changed" />
      <Table.ScrollContainer minWidth={760}>
        <Table striped highlightOnHover verticalSpacing="sm">
          <Table.Thead>
            <Table.Tr><Table.Th>Email</Table.Th><Table.Th>Role</Table.Th><Table.Th>Status</Table.Th><Table.Th>Two-step</Table.Th><Table.Th>Last sign-in</Table.Th><Table.Th>Active</Table.Th><Table.Th><VisuallyHidden>Actions</VisuallyHidden></Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.data.map((u) => {
              const self = u.id === me.user?.id;
              const editable = !self && mayManage(me.role, u.role);
              return (
                <Table.Tr key={u.id} data-user={u.email}>
                  <Table.Td>{u.email}{self ? <Text span c="dimmed" size="sm"> (you)</Text> : null}</Table.Td>
                  <Table.Td>
                    {editable ? (
                      <Select
                        aria-label={`Role of ${u.email}`}
                        size="xs"
                        w={130}
                        allowDeselect={false}
                        data={grantable(me.role).map((r) => ({ value: r, label: ROLE_LABEL[r] }))}
                        value={u.role}
                        onChange={(role) => role && role !== u.role && update.mutate({ id: u.id, role: role as Role })}
                      />
                    ) : <Text size="sm">{ROLE_LABEL[u.role]}</Text>}
                  </Table.Td>
                  <Table.Td>
                    {u.invitePending ? <Badge c="dark.7" color="blue" variant="light">Invited</Badge>
                      : u.isActive ? <Badge c="dark.7" color="green" variant="light">Active</Badge> : <Badge c="dark.7" color="gray" variant="light">Switched off</Badge>}
                  </Table.Td>
                  <Table.Td><Badge c="dark.7" color={u.mfaEnabled ? 'green' : 'gray'} variant="outline">{u.mfaEnabled ? 'On' : 'Off'}</Badge></Table.Td>
                  <Table.Td><Text size="sm">{when(u.lastLoginAt)}</Text></Table.Td>
                  <Table.Td>
                    <Switch aria-label={`${u.email} may sign in`} checked={u.isActive} disabled={!editable} onChange={(e) => update.mutate({ id: u.id, isActive: e.currentTarget.checked })} />
                  </Table.Td>
                  <Table.Td>{editable ? <Button size="xs" color="red" variant="subtle" onClick={() => setRemoving(u)} aria-label={`Remove ${u.email}`}>Remove</Button> : null}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>

      <InviteModal opened={inviting} myRole={me.role} onClose={() => setInviting(false)} onInvited={refresh} />
      <Modal opened={removing !== null} onClose={() => setRemoving(null)} title={`Remove ${removing?.email ?? ''}`} centered>
        <Stack gap="sm">
          <Text size="sm">They lose access at once: their sessions end. Their audit entries stay.</Text>
          <ErrorAlert error={remove.error} title="Not removed" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setRemoving(null)}>Cancel</Button>
            <Button color="red.9" loading={remove.isPending} onClick={() => removing && remove.mutate(removing)}>Remove</Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}

function InviteModal({ opened, myRole, onClose, onInvited }: { opened: boolean; myRole: Role; onClose: () => void; onInvited: () => void }) {
  const [result, setResult] = useState<Invited | null>(null);
  const form = useForm({
    initialValues: { email: '', role: 'member' as Role, method: 'invite_token' as 'invite_token' | 'temporary_password' },
    validate: { email: (v) => (/^\S+@\S+\.\S+$/.test(v) ? null : 'Enter an email address') },
  });
  const invite = useMutation({
    mutationFn: (v: typeof form.values) => api<Invited>('POST', '/api/users', { body: { ...v, email: v.email.trim() } }),
    onSuccess: (r) => {
      setResult(r);
      onInvited();
    },
  });
  const close = () => {
    form.reset();
    invite.reset();
    setResult(null);
    onClose();
  };
  return (
    <Modal opened={opened} onClose={close} title={result ? `${result.user.email} is invited` : 'Invite a user'} centered size="lg">
      {result ? (
        <Stack gap="sm">
          {result.temporaryPassword ? <ShownOnce label="Temporary password" value={result.temporaryPassword} note="Give it to them over a channel you trust; they choose their own at first sign-in." /> : null}
          {result.inviteToken ? <ShownOnce label="Invitation link" value={`${window.location.origin}/admin/accept-invite#token=${result.inviteToken}`} note="It is emailed when email is set up; otherwise send it yourself. It works once, for 7 days." /> : null}
          <Group justify="flex-end"><Button onClick={close}>Done</Button></Group>
        </Stack>
      ) : (
        <form onSubmit={form.onSubmit((v) => invite.mutate(v))} noValidate>
          <Stack gap="sm">
            <ErrorAlert error={invite.error} title="Not invited" />
            <TextInput label="Email" type="email" required data-autofocus {...form.getInputProps('email')} />
            <Select label="Role" allowDeselect={false} data={grantable(myRole).map((r) => ({ value: r, label: ROLE_LABEL[r] }))} {...form.getInputProps('role')} />
            <Radio.Group label="How they get in" {...form.getInputProps('method')}>
              <Stack gap={6} mt={6}>
                <Radio value="invite_token" label="An invitation: they choose their password" />
                <Radio value="temporary_password" label="A temporary password that you pass on" />
              </Stack>
            </Radio.Group>
            <Group justify="flex-end">
              <Button variant="default" onClick={close}>Cancel</Button>
              <Button type="submit" loading={invite.isPending}>Invite</Button>
            </Group>
          </Stack>
        </form>
      )}
    </Modal>
  );
}
