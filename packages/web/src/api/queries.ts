import { useQuery } from '@tanstack/react-query';
import { api } from './client';
import type { Catalog, Connection, KeyholdEvent } from './types';

export const useCatalog = () =>
  useQuery({ queryKey: ['providers'], queryFn: () => api<Catalog>('GET', '/api/providers'), staleTime: 5 * 60_000 });

/** Owners and admins only (the API refuses others), hence `enabled`. */
export const useConnections = (enabled: boolean) =>
  useQuery({ queryKey: ['connections'], queryFn: () => api<Connection[]>('GET', '/api/api-credentials?limit=500'), enabled });

export const useConnection = (id: string) =>
  useQuery({ queryKey: ['connections', id], queryFn: () => api<Connection>('GET', `/api/api-credentials/${id}`) });

/** The newest events of the organization, filtered to one connection here (the API has no such filter yet). */
export const useConnectionEvents = (id: string, enabled: boolean) =>
  useQuery({
    queryKey: ['events', id],
    queryFn: async () => (await api<KeyholdEvent[]>('GET', '/api/events?limit=200')).filter((e) => 'connectionId' in e.subject && e.subject.connectionId === id),
    enabled,
  });

/** The operator's KEYHOLD_SIGNUP: whether to offer sign-up at all, and with an invitation. */
export const useSignupMode = () =>
  useQuery({ queryKey: ['signup-mode'], queryFn: () => api<{ mode: 'open' | 'invite' | 'closed' }>('GET', '/api/auth/signup'), staleTime: Infinity });
