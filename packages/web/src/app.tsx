import { Center, Loader } from '@mantine/core';
import { type ReactNode, Suspense, lazy } from 'react';
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useSession } from './auth/session';
import { NotFoundPage } from './pages/NotFound';
import { SignInPage } from './pages/SignIn';
import { SignUpPage } from './pages/SignUp';

// The signed-in screens load after sign-in: the sign-in page stays small.
const Shell = lazy(() => import('./components/Shell').then((m) => ({ default: m.Shell })));
const IntegrationsPage = lazy(() => import('./pages/Integrations').then((m) => ({ default: m.IntegrationsPage })));
const ConnectionPage = lazy(() => import('./pages/Connection').then((m) => ({ default: m.ConnectionPage })));
const WebhookEndpointsPage = lazy(() => import('./pages/data/WebhookEndpoints').then((m) => ({ default: m.WebhookEndpointsPage })));
const WebhookEndpointPage = lazy(() => import('./pages/data/WebhookEndpoint').then((m) => ({ default: m.WebhookEndpointPage })));
const InboundEventsPage = lazy(() => import('./pages/data/InboundEvents').then((m) => ({ default: m.InboundEventsPage })));
const NotificationsPage = lazy(() => import('./pages/data/Notifications').then((m) => ({ default: m.NotificationsPage })));
const SecurityPage = lazy(() => import('./pages/Security').then((m) => ({ default: m.SecurityPage })));
const WorkingCapitalPage = lazy(() => import('./pages/dashboards/WorkingCapital').then((m) => ({ default: m.WorkingCapitalPage })));
const ExchangeRatesPage = lazy(() => import('./pages/dashboards/ExchangeRates').then((m) => ({ default: m.ExchangeRatesPage })));
const CommercePage = lazy(() => import('./pages/dashboards/Commerce').then((m) => ({ default: m.CommercePage })));
// The platform console (operators): its own sign-in and session, loaded only under /platform.
const PlatformApp = lazy(() => import('./pages/platform/PlatformApp').then((m) => ({ default: m.PlatformApp })));
const UsersPage = lazy(() => import('./pages/people/Users').then((m) => ({ default: m.UsersPage })));
const ApiKeysPage = lazy(() => import('./pages/people/ApiKeys').then((m) => ({ default: m.ApiKeysPage })));
const AuditPage = lazy(() => import('./pages/people/Audit').then((m) => ({ default: m.AuditPage })));
const GetStartedPage = lazy(() => import('./pages/people/GetStarted').then((m) => ({ default: m.GetStartedPage })));
const ForgotPasswordPage = lazy(() => import('./pages/people/ForgotPassword').then((m) => ({ default: m.ForgotPasswordPage })));
const ChangePasswordPage = lazy(() => import('./pages/people/ChangePassword').then((m) => ({ default: m.ChangePasswordPage })));
const SetPasswordPage = lazy(() => import('./pages/people/ResetPassword').then((m) => ({ default: m.SetPasswordPage })));
const loading = <Center mih="100vh"><Loader aria-label="Loading" /></Center>;

function SignedIn({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.phase === 'loading') return <Center mih="100vh"><Loader aria-label="Loading" /></Center>;
  // Back to the same deep link (an OAuth callback's ?provider=configured) after signing in.
  if (state.phase === 'signed-out') return <Navigate to="/sign-in" replace state={{ from: location }} />;
  // A temporary password opens nothing else (the API answers 403 PASSWORD_CHANGE_REQUIRED):
  // choosing one's own comes first, then the page that was asked for.
  if (state.me.user?.mustChangePassword) return <Suspense fallback={loading}><ChangePasswordPage /></Suspense>;
  return <Suspense fallback={loading}>{children}</Suspense>;
}

/** Once signed in (or already), on to the deep link that asked for sign-in, else Integrations. */
function SignedOut({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  const from = (location.state as { from?: { pathname: string; search: string } } | null)?.from;
  if (state.phase === 'loading') return <Center mih="100vh"><Loader aria-label="Loading" /></Center>;
  // A new organization starts with its first steps.
  const home = location.pathname === '/sign-up' ? '/get-started' : '/integrations';
  if (state.phase === 'signed-in') return <Navigate to={from ? `${from.pathname}${from.search}` : home} replace />;
  return <Suspense fallback={loading}>{children}</Suspense>;
}

export function App() {
  return (
    <Routes>
      <Route path="/sign-in" element={<SignedOut><SignInPage /></SignedOut>} />
      <Route path="/sign-up" element={<SignedOut><SignUpPage /></SignedOut>} />
      <Route path="/platform/*" element={<Suspense fallback={loading}><PlatformApp /></Suspense>} />
      <Route path="/forgot-password" element={<SignedOut><ForgotPasswordPage /></SignedOut>} />
      {/* Emailed links land here whether or not this browser is signed in. */}
      <Route path="/reset-password" element={<Suspense fallback={loading}><SetPasswordPage kind="reset" /></Suspense>} />
      <Route path="/accept-invite" element={<Suspense fallback={loading}><SetPasswordPage kind="invite" /></Suspense>} />
      <Route element={<SignedIn><Shell /></SignedIn>}>
        <Route index element={<Navigate to="/integrations" replace />} />
        <Route path="/integrations" element={<IntegrationsPage />} />
        <Route path="/connections/:id" element={<ConnectionPage />} />
        <Route path="/settings/security" element={<SecurityPage />} />
        <Route path="/dashboards/working-capital" element={<WorkingCapitalPage />} />
        <Route path="/dashboards/exchange-rates" element={<ExchangeRatesPage />} />
        <Route path="/dashboards/commerce" element={<CommercePage />} />
        <Route path="/webhooks/endpoints" element={<WebhookEndpointsPage />} />
        <Route path="/webhooks/endpoints/:id" element={<WebhookEndpointPage />} />
        <Route path="/webhooks/inbound" element={<InboundEventsPage />} />
        <Route path="/notifications" element={<NotificationsPage />} />
        <Route path="/settings/users" element={<UsersPage />} />
        <Route path="/settings/api-keys" element={<ApiKeysPage />} />
        <Route path="/audit" element={<AuditPage />} />
        <Route path="/get-started" element={<GetStartedPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
