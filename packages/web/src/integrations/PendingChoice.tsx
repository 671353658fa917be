import { Button, Group, Loader, Modal, Radio, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { ErrorAlert } from '../components/ErrorAlert';

type Pending = { id: string; provider: string; label: string; choices: Array<{ id: string; name: string }>; expiresAt: string };

/**
 * After an OAuth consent that authorised several accounts (Xero organisations, Facebook Pages),
 * the person picks the one this connection is for.
 */
export function PendingChoice({ pendingId, nameOf, onDone }: { pendingId: string; nameOf: (id: string) => string; onDone: () => void }) {
  const queryClient = useQueryClient();
  const pending = useQuery({ queryKey: ['pending', pendingId], queryFn: () => api<Pending>('GET', `/api/integrations/pending/${encodeURIComponent(pendingId)}`) });
  const [choice, setChoice] = useState<string | null>(null);
  const select = useMutation({
    mutationFn: (choiceId: string) => api<{ provider: string; label: string }>('POST', `/api/integrations/pending/${encodeURIComponent(pendingId)}/select`, { body: { choiceId } }),
    onSuccess: async (r) => {
      await queryClient.invalidateQueries({ queryKey: ['connections'] });
      notifications.show({ color: 'green', title: 'Connected', message: `${nameOf(r.provider)} (${r.label}) is connected.` });
      onDone();
    },
  });
  const name = pending.data ? nameOf(pending.data.provider) : '';
  return (
    <Modal opened onClose={onDone} title={pending.data ? `Choose the ${name} account` : 'Choose an account'} size="md">
      {pending.isPending ? <Loader size="sm" aria-label="Loading accounts" /> : null}
      <ErrorAlert error={pending.error} title="This choice is no longer available" />
      {pending.data ? (
        <form onSubmit={(e) => { e.preventDefault(); if (choice) select.mutate(choice); }}>
          <Stack gap="sm">
            <Text size="sm">You allowed Keyhold to reach several accounts at {name}. This connection ({pending.data.label}) is for:</Text>
            <Radio.Group value={choice} onChange={setChoice} label="Account" required>
              <Stack gap="xs" mt="xs">
                {pending.data.choices.map((c) => <Radio key={c.id} value={c.id} label={c.name} />)}
              </Stack>
            </Radio.Group>
            <ErrorAlert error={select.error} title="Not connected" />
            <Group justify="flex-end">
              <Button type="submit" disabled={!choice} loading={select.isPending}>Connect</Button>
            </Group>
          </Stack>
        </form>
      ) : null}
    </Modal>
  );
}
