import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import { Alert, type CSSVariablesResolver, MantineProvider, Modal, Notification, createTheme } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApiError } from './api/client';
import { App } from './app';
import { SessionProvider } from './auth/session';

// Shade 8 and a darker "dimmed" keep text and buttons above WCAG AA contrast (4.5:1) on white.
const theme = createTheme({
  primaryColor: 'indigo',
  primaryShade: 8,
  defaultRadius: 'md',
  // People who ask their system for less motion get no modal and notification animations.
  respectReducedMotion: true,
  // Close buttons are icons: they need a name for screen readers.
  components: {
    // A coloured title on its own tinted fill falls under 4.5:1 for yellow and green; the icon keeps the colour.
    Alert: Alert.extend({ styles: { title: { color: 'var(--mantine-color-dark-8)' } } }),
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': 'Close' } } }),
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': 'Close notification' } },
      styles: { description: { color: 'var(--mantine-color-gray-8)' } },
    }),
  },
});
// Field errors too: Mantine's default red is under 4.5:1 on white.
const contrast: CSSVariablesResolver = (t) => ({ variables: {}, light: { '--mantine-color-dimmed': t.colors.gray[7]!, '--mantine-color-error': t.colors.red[9]! }, dark: {} });

const queryClient = new QueryClient({
  defaultOptions: {
    // A refused or missing thing does not get better by asking again.
    queries: { retry: (count, e) => count < 2 && !(e instanceof ApiError && e.status >= 400 && e.status < 500), refetchOnWindowFocus: false },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast} forceColorScheme="light">
      {/* Bottom: at the top they would cover the page's action buttons. */}
      <Notifications position="bottom-right" />
      <QueryClientProvider client={queryClient}>
        <BrowserRouter basename="/admin">
          <SessionProvider>
            <App />
          </SessionProvider>
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
