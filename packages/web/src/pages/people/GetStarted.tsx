import { Badge, Button, Card, Center, Group, Loader, Progress, Stack, Text, ThemeIcon, Title } from '@mantine/core';
import { IconCheck, IconPlayerSkipForward, IconPoint } from '@tabler/icons-react';
import { Link, useNavigate } from 'react-router';
import { type OnboardingStep, useUpdateOnboarding } from '../../api/people';
import { ErrorAlert } from '../../components/ErrorAlert';
import { useOnboardingSteps } from '../../people/onboarding';

/** First run: a few steps, each skippable; "skip for now" is remembered for the person, and undone here. */
export function GetStartedPage() {
  const list = useOnboardingSteps();
  const update = useUpdateOnboarding();
  const navigate = useNavigate();
  const setSkipped = (id: OnboardingStep, skip: boolean) =>
    update.mutate({ skipped: skip ? [...list.skipped, id] : list.skipped.filter((s) => s !== id) });

  if (!list.ready) return <Center py="xl"><Loader aria-label="Loading your first steps" /></Center>;
  return (
    <Stack maw={760} gap="lg">
      <div>
        <Title order={1} size="h2">Get started</Title>
        <Text c="dimmed">A few steps make Keyhold useful and safe. Do them now, or skip any for now: they stay here.</Text>
      </div>
      <Progress value={(list.done / list.steps.length) * 100} aria-label={`${list.done} of ${list.steps.length} steps done`} />
      <ErrorAlert error={update.error} title="Not saved" />
      {list.steps.map((s) => (
        <Card key={s.id} withBorder radius="md" data-step={s.id} data-state={s.done ? 'done' : s.skipped ? 'skipped' : 'todo'}>
          <Group justify="space-between" align="flex-start" wrap="nowrap">
            <Group align="flex-start" wrap="nowrap">
              <ThemeIcon variant="light" color={s.done ? 'green' : 'gray'} radius="xl" aria-hidden>
                {s.done ? <IconCheck size={18} /> : s.skipped ? <IconPlayerSkipForward size={18} /> : <IconPoint size={18} />}
              </ThemeIcon>
              <div>
                <Title order={2} size="h4">{s.title}</Title>
                <Text size="sm" c="dimmed">{s.description}</Text>
              </div>
            </Group>
            {s.done ? <Badge c="dark.7" color="green" variant="light">Done</Badge> : s.skipped ? <Badge c="dark.7" color="gray" variant="light">Skipped</Badge> : null}
          </Group>
          {!s.done ? (
            <Group mt="sm" gap="xs">
              <Button component={Link} to={s.to} size="xs">{s.action}</Button>
              {s.skipped
                ? <Button size="xs" variant="subtle" onClick={() => setSkipped(s.id, false)}>Undo skip</Button>
                : <Button size="xs" variant="subtle" onClick={() => setSkipped(s.id, true)} aria-label={`Skip for now: ${s.title}`}>Skip for now</Button>}
            </Group>
          ) : null}
        </Card>
      ))}
      <Group>
        {list.dismissedAt ? (
          <>
            <Text size="sm">You set this list aside; it stays under Get started.</Text>
            <Button variant="subtle" onClick={() => update.mutate({ dismissed: false })}>Remind me again</Button>
          </>
        ) : (
          <Button variant="default" onClick={() => update.mutate({ dismissed: true }, { onSuccess: () => navigate('/integrations') })}>Skip all for now</Button>
        )}
      </Group>
    </Stack>
  );
}
