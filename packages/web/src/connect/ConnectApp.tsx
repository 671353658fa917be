import { Alert, Anchor, Button, Container, Group, Loader, Paper, SimpleGrid, Stack, Text, Title, UnstyledButton } from '@mantine/core';
import { IconAlertCircle, IconArrowLeft, IconCircleCheck } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { Provider } from '../api/types';
import { isOAuth } from '../integrations/fields';
import { type Completed, type CompletedWithTargets, ConnectApiError, type ConnectSessionView, connectApi, sessionToken } from './api';
import { announce } from './announce';
import { ConnectApiKeyForm } from './ConnectApiKeyForm';
import { ConnectOAuthForm } from './ConnectOAuthForm';

/** The refusals an end user can act on: ask the application for a new link. */
const REFUSALS: Record<string, string> = {
  CONNECT_SESSION_USED: 'This link was already used',
  CONNECT_SESSION_EXPIRED: 'This link has expired',
  CONNECT_SESSION_INVALID: 'This link is not valid',
};

function Frame({ children }: { children: React.ReactNode }) {
  return (
    <Container size={560} py="xl" component="main">
      <Paper withBorder radius="md" p="lg">
        <Stack gap="md">{children}</Stack>
      </Paper>
      <Text size="xs" c="dimmed" ta="center" mt="sm">Secured by Keyhold · your credentials are encrypted and never shown again</Text>
    </Container>
  );
}

function Refusal({ error }: { error: unknown }) {
  const code = error instanceof ConnectApiError ? error.code : '';
  return (
    <Frame>
      <Title order={1} size="h3">{REFUSALS[code] ?? 'Connecting is not possible right now'}</Title>
      <Alert color="red" icon={<IconAlertCircle aria-hidden />} title="Nothing was connected" role="alert" data-code={code}>
        {error instanceof Error ? error.message : String(error)}
      </Alert>
    </Frame>
  );
}

function Connected({ result }: { result: CompletedWithTargets }) {
  const [redirected, setRedirected] = useState(false);
  useEffect(() => setRedirected(announce(result).redirected), [result]);
  return (
    <Frame>
      <Title order={1} size="h3">Account connected</Title>
      <Alert color="green" icon={<IconCircleCheck aria-hidden />} title={`${result.provider} is connected`} data-connection={result.connectionId}>
        {redirected ? 'Taking you back…' : 'You can close this window.'}
      </Alert>
    </Frame>
  );
}

/** Why the provider's side did not end in a connection (the callback's code in `?error=`). */
const CALLBACK_ERRORS: Record<string, string> = {
  OAUTH_ACCESS_DENIED: 'Access was not granted, so nothing was connected. You can start again from the application.',
  ACCOUNT_ALREADY_CONNECTED: 'This account is already connected elsewhere.',
};

/** After an OAuth round trip (/connect/done): what the session connected, announced like a save. */
function Done({ token }: { token: string }) {
  const failed = new URLSearchParams(window.location.search).get('error');
  if (failed) return <Refusal error={new ConnectApiError(0, failed, CALLBACK_ERRORS[failed] ?? `The provider did not complete the connection (${failed}).`)} />;
  return <DoneResult token={token} />;
}

function DoneResult({ token }: { token: string }) {
  const result = useQuery({ queryKey: ['connect-result'], queryFn: () => connectApi<CompletedWithTargets>(token, 'GET', '/api/connect/session/result') });
  if (result.isPending) return <Frame><Loader aria-label="Loading" /></Frame>;
  if (result.isError) return <Refusal error={result.error} />;
  return <Connected result={result.data} />;
}

function ProviderPicker({ providers, onPick }: { providers: Provider[]; onPick: (p: Provider) => void }) {
  return (
    <SimpleGrid cols={{ base: 1, xs: 2 }} spacing="sm" role="list" aria-label="Providers">
      {providers.map((p) => (
        <UnstyledButton key={p.id} onClick={() => onPick(p)} role="listitem" aria-label={`Connect ${p.displayName}`} data-provider={p.id}>
          <Paper withBorder radius="md" p="sm">
            <Text fw={600}>{p.displayName}</Text>
            <Text size="sm" c="dimmed">{p.category}</Text>
          </Paper>
        </UnstyledButton>
      ))}
    </SimpleGrid>
  );
}

function Session({ token }: { token: string }) {
  const session = useQuery({ queryKey: ['connect-session'], queryFn: () => connectApi<ConnectSessionView>(token, 'GET', '/api/connect/session') });
  const [picked, setPicked] = useState<Provider | null>(null);
  const [done, setDone] = useState<Completed | null>(null);
  if (session.isPending) return <Frame><Loader aria-label="Loading" /></Frame>;
  if (session.isError) return <Refusal error={session.error} />;
  const s = session.data;
  if (done) return <Connected result={{ ...done, allowedOrigins: s.allowedOrigins, returnTo: s.returnTo }} />;
  const provider = picked ?? (s.providers.length === 1 ? s.providers[0]! : null);
  return (
    <Frame>
      <Title order={1} size="h3">{provider ? `${s.reconnect ? 'Reconnect' : 'Connect'} ${provider.displayName}` : 'Connect an account'}</Title>
      {provider ? (
        <>
          {provider.description ? <Text size="sm" c="dimmed">{provider.description}</Text> : null}
          {isOAuth(provider) ? <ConnectOAuthForm token={token} provider={provider} /> : <ConnectApiKeyForm token={token} provider={provider} onConnected={setDone} />}
          {picked && s.providers.length > 1 ? (
            <Group><Button variant="subtle" leftSection={<IconArrowLeft size={14} aria-hidden />} onClick={() => setPicked(null)}>All providers</Button></Group>
          ) : null}
          {provider.docsUrl ? <Anchor href={provider.docsUrl} target="_blank" rel="noreferrer" size="sm">Where to find these in {provider.displayName}</Anchor> : null}
        </>
      ) : (
        <>
          <Text size="sm">Choose the service to connect.</Text>
          <ProviderPicker providers={s.providers} onPick={setPicked} />
        </>
      )}
    </Frame>
  );
}

/** The hosted Connect page: /connect/<token>, and /connect/done after an OAuth consent. */
export function ConnectApp() {
  const token = sessionToken();
  if (!token) return <Refusal error={new ConnectApiError(401, 'CONNECT_SESSION_INVALID', 'Open this page from the application that sent you here.')} />;
  return window.location.pathname === '/connect/done' ? <Done token={token} /> : <Session token={token} />;
}
