import { Alert, Anchor, Group } from '@mantine/core';
import { IconAlertCircle } from '@tabler/icons-react';
import { Link } from 'react-router';
import { ApiError } from '../api/client';

const inAdmin = (url: string) => url.startsWith('/admin/') ? url.slice('/admin'.length) : null;

/** An API error as the person should read it: the server's message and its suggested actions. */
export function ErrorAlert({ error, title = 'Something went wrong' }: { error: unknown; title?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const actions = error instanceof ApiError ? error.actions : [];
  return (
    <Alert color="red" icon={<IconAlertCircle aria-hidden />} title={title} role="alert">
      {message}
      {actions.length > 0 ? (
        <Group mt="xs" gap="md">
          {actions.map((a) => {
            const local = inAdmin(a.url);
            return local
              ? <Anchor key={a.url} component={Link} to={local}>{a.label}</Anchor>
              : <Anchor key={a.url} href={a.url}>{a.label}</Anchor>;
          })}
        </Group>
      ) : null}
    </Alert>
  );
}
