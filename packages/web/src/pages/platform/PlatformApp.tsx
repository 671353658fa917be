import { AppShell, Button, Center, Group, Loader, NavLink, Stack, Text } from '@mantine/core';
import { IconBuilding, IconHeartbeat, IconLogout, IconUsers } from '@tabler/icons-react';
import type { ReactNode } from 'react';
import { Navigate, NavLink as RouterLink, Outlet, Route, Routes, useLocation } from 'react-router';
import { PlatformSessionProvider, usePlatformAdmin, usePlatformSession } from '../../platform/session';
import { AdminsPage } from './Admins';
import { HealthPage } from './Health';
import { PlatformSignInPage } from './SignIn';
import { TenantPage } from './Tenant';
import { TenantsPage } from './Tenants';

const loading = <Center mih="100vh"><Loader aria-label="Loading" /></Center>;

function SignedIn({ children }: { children: ReactNode }) {
  const { state } = usePlatformSession();
  const location = useLocation();
  if (state.phase === 'loading') return loading;
  if (state.phase === 'signed-out') return <Navigate to="/platform/sign-in" replace state={{ from: location }} />;
  return children;
}

function SignedOut({ children }: { children: ReactNode }) {
  const { state } = usePlatformSession();
  const from = (useLocation().state as { from?: { pathname: string; search: string } } | null)?.from;
  if (state.phase === 'loading') return loading;
  if (state.phase === 'signed-in') return <Navigate to={from ? `${from.pathname}${from.search}` : '/platform/tenants'} replace />;
  return children;
}

const NAV = [
  { to: '/platform/tenants', label: 'Tenants', icon: IconBuilding, permission: null },
  { to: '/platform/health', label: 'Health', icon: IconHeartbeat, permission: 'platform:read' as const },
  { to: '/platform/admins', label: 'Admins', icon: IconUsers, permission: 'platform:read' as const },
];

function PlatformShell() {
  const admin = usePlatformAdmin();
  const { signOut } = usePlatformSession();
  const { pathname } = useLocation();
  return (
    <AppShell header={{ height: 56 }} navbar={{ width: 220, breakpoint: 'sm' }} padding="lg">
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm"><Text fw={700} c="indigo.8">Keyhold</Text><Text c="dimmed" size="sm">Platform console</Text></Group>
          <Group gap="sm">
            <Text size="sm">{admin.email} <Text span c="dimmed">({admin.role})</Text></Text>
            <Button variant="subtle" size="xs" leftSection={<IconLogout size={16} aria-hidden />} onClick={() => void signOut()}>Sign out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Platform">
        <Stack gap={2}>
          {NAV.filter((n) => !n.permission || admin.may(n.permission)).map((n) => (
            <NavLink key={n.to} component={RouterLink} to={n.to} label={n.label} leftSection={<n.icon size={18} aria-hidden />} active={pathname.startsWith(n.to)} />
          ))}
        </Stack>
      </AppShell.Navbar>
      <AppShell.Main><Outlet /></AppShell.Main>
    </AppShell>
  );
}

/** The platform console under /admin/platform: its own sign-in, session and navigation. */
export function PlatformApp() {
  return (
    <PlatformSessionProvider>
      <Routes>
        <Route path="sign-in" element={<SignedOut><PlatformSignInPage /></SignedOut>} />
        <Route element={<SignedIn><PlatformShell /></SignedIn>}>
          <Route index element={<Navigate to="/platform/tenants" replace />} />
          <Route path="tenants" element={<TenantsPage />} />
          <Route path="tenants/:id" element={<TenantPage />} />
          <Route path="health" element={<HealthPage />} />
          <Route path="admins" element={<AdminsPage />} />
          <Route path="*" element={<Navigate to="/platform/tenants" replace />} />
        </Route>
      </Routes>
    </PlatformSessionProvider>
  );
}
