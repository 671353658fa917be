import { Alert, Center, Loader, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useEffect, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { useCatalog, useConnections } from '../api/queries';
import { useMe } from '../auth/session';
import { ErrorAlert } from '../components/ErrorAlert';
import { PendingChoice } from '../integrations/PendingChoice';
import { ProviderCard } from '../integrations/ProviderCard';

/** Reads what the OAuth callback says in the address (?xero=configured, ?xero=error&code=…) once. */
function useCallbackOutcome(nameOf: ((id: string) => string) | null) {
  const [params, setParams] = useSearchParams();
  useEffect(() => {
    if (!nameOf) return; // the catalog names the provider
    for (const [provider, outcome] of params) {
      if (outcome === 'configured') notifications.show({ color: 'green', title: 'Connected', message: `${nameOf(provider)} is connected.` });
      if (outcome === 'error') notifications.show({ color: 'red', title: `${nameOf(provider)} not connected`, message: params.get('code') ?? 'The connection was not completed.' });
    }
    if ([...params.values()].some((v) => v === 'configured' || v === 'error')) setParams({}, { replace: true });
  }, [params, setParams, nameOf]);
  return { pending: params.get('pending'), setParams };
}

export function IntegrationsPage() {
  const me = useMe();
  const canManage = me.atLeast('admin');
  const catalog = useCatalog();
  const connections = useConnections(canManage);
  const nameOf = useMemo(() => {
    const providers = catalog.data?.providers;
    return providers ? (id: string) => providers.find((p) => p.id === id)?.displayName ?? id : null;
  }, [catalog.data]);
  const { pending, setParams } = useCallbackOutcome(nameOf);

  if (catalog.isPending) return <Center py="xl"><Loader aria-label="Loading integrations" /></Center>;
  if (catalog.error) return <ErrorAlert error={catalog.error} title="Integrations could not be loaded" />;

  const byProvider = new Map<string, typeof connections.data>();
  for (const c of connections.data ?? []) byProvider.set(c.service_name, [...(byProvider.get(c.service_name) ?? []), c]);

  return (
    <Stack gap="xl">
      <div>
        <Title order={1} size="h2">Integrations</Title>
        <Text c="dimmed">Connect your organization's accounts. Keyhold keeps the credentials encrypted and refreshes them.</Text>
      </div>
      {!canManage ? (
        <Alert color="blue" title="Read-only">Your role ({me.role}) sees which providers are available; owners and admins connect and manage accounts.</Alert>
      ) : null}
      {pending && nameOf ? <PendingChoice pendingId={pending} nameOf={nameOf} onDone={() => setParams({}, { replace: true })} /> : null}
      <ErrorAlert error={connections.error} title="Connections could not be loaded" />
      {catalog.data.categories.map((category) => (
        <section key={category} aria-labelledby={`cat-${category}`}>
          <Title order={2} size="h4" id={`cat-${category}`} mb="sm">{category}</Title>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 3 }} spacing="md">
            {catalog.data.providers.filter((p) => p.category === category).map((p) => (
              <ProviderCard key={p.id} provider={p} connections={byProvider.get(p.id) ?? []} canManage={canManage} />
            ))}
          </SimpleGrid>
        </section>
      ))}
    </Stack>
  );
}
