import { Badge, Box } from '@mantine/core';

const COLOR: Record<string, string> = { active: 'green', trial: 'blue', suspended: 'red', trial_expired: 'orange', cancelled: 'gray' };

/** Dark text on a light fill (contrast above 4.5:1); the dot carries the colour. */
export function TenantStatusBadge({ status }: { status: string }) {
  const color = COLOR[status] ?? 'gray';
  return (
    <Badge variant="light" color={color} data-status={status} styles={{ label: { color: 'var(--mantine-color-dark-8)' } }}
      leftSection={<Box w={8} h={8} bg={`${color}.7`} style={{ borderRadius: '50%' }} aria-hidden />}>
      {status.replace('_', ' ')}
    </Badge>
  );
}
