import { Button, Group, MultiSelect, Stack, TextInput } from '@mantine/core';
import { useForm } from '@mantine/form';
import { EVENT_FILTER_DATA } from './event-types';

export type EndpointValues = { url: string; description: string; eventTypes: string[] };

/** An endpoint's URL (only when creating: moving it is its own guarded action), description and events. */
export function EndpointForm({ initial, withUrl, submitLabel, onSubmit }: {
  initial: EndpointValues; withUrl: boolean; submitLabel: string; onSubmit: (v: EndpointValues) => void;
}) {
  const form = useForm<EndpointValues>({
    initialValues: initial,
    validate: {
      url: (v) => (!withUrl || /^https?:\/\/\S+$/.test(v.trim()) ? null : 'Enter the full URL, starting with https://'),
      eventTypes: (v) => (v.length > 0 ? null : 'Choose at least one event type, or every event'),
    },
  });
  return (
    <form onSubmit={form.onSubmit((v) => onSubmit({ ...v, url: v.url.trim(), eventTypes: v.eventTypes.includes('*') ? ['*'] : v.eventTypes }))} noValidate>
      <Stack gap="sm">
        {withUrl ? <TextInput label="URL" placeholder="https://example.com/keyhold-webhooks" required data-autofocus {...form.getInputProps('url')} /> : null}
        <TextInput label="Description" placeholder="What receives these events" {...form.getInputProps('description')} />
        <MultiSelect label="Events" data={EVENT_FILTER_DATA} searchable required placeholder="Pick event types" comboboxProps={{ withinPortal: true }} {...form.getInputProps('eventTypes')} />
        <Group justify="flex-end"><Button type="submit">{submitLabel}</Button></Group>
      </Stack>
    </form>
  );
}
