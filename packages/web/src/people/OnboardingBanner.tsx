import { Button, Group, Paper, Text, ThemeIcon } from '@mantine/core';
import { IconRocket } from '@tabler/icons-react';
import { Link, useLocation } from 'react-router';
import { useUpdateOnboarding } from '../api/people';
import { useOnboardingSteps } from './onboarding';

/** A reminder over every page until the first-run steps are done, skipped or set aside. */
export function OnboardingBanner() {
  const { pathname } = useLocation();
  const list = useOnboardingSteps();
  const update = useUpdateOnboarding();
  if (!list.ready || list.dismissedAt || list.remaining === 0 || pathname === '/get-started') return null;
  return (
    <Paper component="section" aria-label="Setup reminder" withBorder radius="md" p="sm" mb="lg">
      <Group justify="space-between" gap="xs">
        <Group gap="sm">
          <ThemeIcon variant="light" radius="xl" aria-hidden><IconRocket size={18} /></ThemeIcon>
          <Text size="sm"><Text span fw={600}>Finish setting up:</Text> {list.remaining} of {list.steps.length} first steps left.</Text>
        </Group>
        <Group gap="xs">
          <Button component={Link} to="/get-started" size="xs">Continue setup</Button>
          <Button size="xs" variant="default" loading={update.isPending} onClick={() => update.mutate({ dismissed: true })}>Skip for now</Button>
        </Group>
      </Group>
    </Paper>
  );
}
