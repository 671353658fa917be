import '@mantine/core/styles.css';
import { MantineProvider } from '@mantine/core';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { contrast, theme } from './theme';
import { ConnectApp } from './ConnectApp';

// A refused link does not get better by asking again.
const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, refetchOnWindowFocus: false } } });

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={contrast} forceColorScheme="light">
      <QueryClientProvider client={queryClient}>
        <ConnectApp />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
