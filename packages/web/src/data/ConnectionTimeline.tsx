import { Card, Loader, Text, Timeline, Title } from '@mantine/core';
import type { KeyholdEvent } from '@keyhold/contract';
import { useConnectionTimeline } from '../api/data';
import { ErrorAlert } from '../components/ErrorAlert';
import { when } from './format';

/** What an event says beyond its type: the kind of change, the status move, who or what did it. */
function detailOf(e: KeyholdEvent): string {
  const p = e.payload as Record<string, unknown>;
  const parts: string[] = [];
  if (typeof p.change === 'string') parts.push(p.change.replaceAll('_', ' '));
  if (typeof p.from === 'string' && typeof p.to === 'string' && p.from !== p.to) parts.push(`${p.from} → ${p.to}`);
  if (typeof p.sync === 'string') parts.push(p.sync);
  if (typeof p.added === 'number') parts.push(`${p.added} added, ${String(p.updated ?? 0)} updated, ${String(p.deleted ?? 0)} deleted`);
  if (typeof p.topic === 'string') parts.push(p.topic);
  if (typeof p.source === 'string') parts.push(`by ${p.source}`);
  if (typeof p.error === 'string') parts.push(p.error);
  return parts.join(' · ');
}

/** The connection's events, newest first, as the server filters them (GET /api/events?connection=). */
export function ConnectionTimeline({ connectionId, enabled }: { connectionId: string; enabled: boolean }) {
  const events = useConnectionTimeline(connectionId, enabled);
  return (
    <Card withBorder radius="md">
      <Title order={2} size="h4" mb="sm">Events</Title>
      {events.isPending && enabled ? <Loader size="sm" aria-label="Loading events" /> : null}
      <ErrorAlert error={events.error} title="Events could not be loaded" />
      {events.data && events.data.length === 0 ? <Text c="dimmed" size="sm">No events yet.</Text> : null}
      {events.data && events.data.length > 0 ? (
        <Timeline bulletSize={14} lineWidth={2} active={-1}>
          {events.data.map((e) => (
            <Timeline.Item key={e.id} title={e.type.replace(/^connection\./, '').replaceAll(/[._]/g, ' ')}>
              {detailOf(e) ? <Text size="sm">{detailOf(e)}</Text> : null}
              <Text size="xs" c="dimmed">{when(e.createdAt)}</Text>
            </Timeline.Item>
          ))}
        </Timeline>
      ) : null}
    </Card>
  );
}
