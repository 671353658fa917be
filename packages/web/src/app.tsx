import { Center, Loader } from '@mantine/core';
import type { ReactNode } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useSession } from './auth/session';
import { Shell } from './components/Shell';
import { ConnectionPage } from './pages/Connection';
import { IntegrationsPage } from './pages/Integrations';
import { NotFoundPage } from './pages/NotFound';
import { SecurityPage } from './pages/Security';
import { SignInPage } from './pages/SignIn';
import { SignUpPage } from './pages/SignUp';

function SignedIn({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.phase === 'loading') return <Center mih="100vh"><Loader aria-label="Loading" /></Center>;
  // Back to the same deep link (an OAuth callback's ?provider=configured) after signing in.
  if (state.phase === 'signed-out') return <Navigate to="/sign-in" replace state={{ from: location }} />;
  return children;
}

/** Once signed in (or already), on to the deep link that asked for sign-in, else Integrations. */
function SignedOut({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const from = (useLocation().state as { from?: { pathname: string; search: string } } | null)?.from;
  if (state.phase === 'loading') return <Center mih="100vh"><Loader aria-label="Loading" /></Center>;
  if (state.phase === 'signed-in') return <Navigate to={from ? `${from.pathname}${from.search}` : '/integrations'} replace />;
  return children;
}

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignedOut><SignInPage /></SignedOut>} />
      <Route path="/sign-up" element={<SignedOut><SignUpPage /></SignedOut>} />
      <Route element={<SignedIn><Shell /></SignedIn>}>
        <Route index element={<Navigate to="/integrations" replace />} />
        <Route path="/integrations" element={<IntegrationsPage />} />
        <Route path="/connections/:id" element={<ConnectionPage />} />
        <Route path="/settings/security" element={<SecurityPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
