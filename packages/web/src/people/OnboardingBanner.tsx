import { Alert, Anchor, Box, Button, Group, Text } from '@mantine/core';
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
    <Box component="section" aria-label="Setup reminder" mb="lg">
    <Alert color="indigo" variant="light" icon={<IconRocket aria-hidden />} title="Finish setting up" role="status">
      <Group justify="space-between" gap="xs">
        <Text size="sm">{list.remaining} of {list.steps.length} first steps left. <Anchor component={Link} to="/get-started">Continue setup</Anchor></Text>
        <Button size="xs" variant="subtle" loading={update.isPending} onClick={() => update.mutate({ dismissed: true })}>Skip for now</Button>
      </Group>
    </Alert>
    </Box>
  );
}
