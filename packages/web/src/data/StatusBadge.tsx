import { Badge } from '@mantine/core';
import { STATUS_COLOR } from './format';

/** A run's, delivery's or message's status: tinted, dark text (contrast above 4.5:1). */
export function StatusBadge({ status }: { status: string }) {
  const s = status.toLowerCase();
  return <Badge color={STATUS_COLOR[s] ?? 'gray'} variant="light" c="dark.7" tt="none" data-status={s}>{s}</Badge>;
}
