import { Badge } from '@mantine/core';
import type { WebhookEndpoint } from '../api/data';

const REASON = { gone_410: 'disabled: answered 410 Gone', failing_5_days: 'disabled: failing 5 days' } as const;

/** Enabled, failing (since when), or disabled (by a person, or by Keyhold and why). */
export function EndpointStatus({ endpoint: e }: { endpoint: WebhookEndpoint }) {
  const [label, color] = !e.enabled
    ? [e.disabledReason ? REASON[e.disabledReason] : 'disabled', 'gray']
    : e.failingSince ? ['failing', 'orange'] : ['enabled', 'green'];
  return <Badge color={color} variant="light" c="dark.7" tt="none" data-status={e.enabled ? (e.failingSince ? 'failing' : 'enabled') : 'disabled'}>{label}</Badge>;
}
