import { Badge, Box } from '@mantine/core';
import type { Connection } from '../api/types';

export type DisplayStatus = 'active' | 'needs_reauth' | 'degraded' | 'disabled' | 'error' | 'not_connected';

const LOOK: Record<DisplayStatus, { label: string; color: string; variant: 'light' | 'outline' }> = {
  active: { label: 'Active', color: 'green', variant: 'light' },
  needs_reauth: { label: 'Needs re-auth', color: 'orange', variant: 'light' },
  degraded: { label: 'Degraded', color: 'yellow', variant: 'light' },
  disabled: { label: 'Disabled', color: 'gray', variant: 'light' },
  error: { label: 'Error', color: 'red', variant: 'light' },
  not_connected: { label: 'Not connected', color: 'gray', variant: 'outline' },
};

/** A switched-off connection reads as disabled whatever its last known status. */
export function statusOf(c: Connection | undefined): DisplayStatus {
  if (!c) return 'not_connected';
  if (!c.is_active) return 'disabled';
  return (c.status in LOOK ? c.status : 'error') as DisplayStatus;
}

export function StatusPill({ status }: { status: DisplayStatus }) {
  const look = LOOK[status];
  // Dark text on the tinted fill keeps the contrast above 4.5:1; the dot carries the colour.
  return (
    <Badge
      color={look.color}
      variant={look.variant}
      radius="xl"
      tt="none"
      c="dark.7"
      data-status={status}
      style={{ flexShrink: 0 }}
      leftSection={<Box component="span" aria-hidden w={8} h={8} bg={`${look.color}.7`} style={{ borderRadius: '50%', display: 'inline-block' }} />}
    >
      {look.label}
    </Badge>
  );
}
