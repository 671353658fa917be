import { AppShell, Burger, Button, Group, NavLink, Stack, Text } from '@mantine/core';
import { useDisclosure } from '@mantine/hooks';
import { IconArrowsExchange, IconBell, IconBuildingStore, IconChartLine, IconInbox, IconKey, IconListCheck, IconLogout, IconPlugConnected, IconRocket, IconShieldLock, IconUsers, IconWebhook } from '@tabler/icons-react';
import type { Role } from '../api/types';
import { OnboardingBanner } from '../people/OnboardingBanner';
import { NavLink as RouterLink, Outlet, useLocation } from 'react-router';
import { useMe, useSession } from '../auth/session';

/** `min`: the least role that sees the entry (the API refuses the others anyway). */
const NAV: Array<{ to: string; label: string; icon: typeof IconKey; min?: Role }> = [
  { to: '/get-started', label: 'Get started', icon: IconRocket },
  { to: '/integrations', label: 'Integrations', icon: IconPlugConnected },
  { to: '/dashboards/working-capital', label: 'Working capital', icon: IconChartLine },
  { to: '/dashboards/exchange-rates', label: 'Exchange rates', icon: IconArrowsExchange },
  { to: '/dashboards/commerce', label: 'Commerce', icon: IconBuildingStore },
  { to: '/webhooks/endpoints', label: 'Webhook endpoints', icon: IconWebhook, min: 'admin' },
  { to: '/webhooks/inbound', label: 'Inbound webhooks', icon: IconInbox, min: 'admin' },
  { to: '/notifications', label: 'Notifications', icon: IconBell, min: 'admin' },
  { to: '/settings/users', label: 'Users & roles', icon: IconUsers, min: 'admin' },
  { to: '/settings/api-keys', label: 'API keys', icon: IconKey, min: 'admin' },
  { to: '/audit', label: 'Audit log', icon: IconListCheck, min: 'admin' },
  { to: '/settings/security', label: 'Security', icon: IconShieldLock },
];

/** The signed-in frame: header with the organization and the person, navigation on the left. */
export function Shell() {
  const [opened, { toggle }] = useDisclosure();
  const me = useMe();
  const { signOut } = useSession();
  const { pathname } = useLocation();
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm', collapsed: { mobile: !opened } }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label="Toggle navigation" />
            <Text fw={700} c="indigo.8">Keyhold</Text>
            <Text c="dimmed" size="sm">{me.tenant.name} · {me.tenant.slug}</Text>
          </Group>
          <Group gap="sm">
            <Text size="sm">{me.user?.email} <Text span c="dimmed">({me.role})</Text></Text>
            <Button variant="subtle" size="xs" leftSection={<IconLogout size={16} aria-hidden />} onClick={() => void signOut()}>Sign out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Main">
        <Stack gap={2}>
          {NAV.filter((n) => !n.min || me.atLeast(n.min)).map((n) => (
            <NavLink
              key={n.to}
              component={RouterLink}
              to={n.to}
              label={n.label}
              leftSection={<n.icon size={18} aria-hidden />}
              active={pathname.startsWith(n.to) || (n.to === '/integrations' && pathname.startsWith('/connections'))}
            />
          ))}
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main>
        <OnboardingBanner />
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
