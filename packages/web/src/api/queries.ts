import { useQuery } from '@tanstack/react-query';
import { api } from './client';
import type { Catalog, Connection } from './types';

export const useCatalog = () =>
  useQuery({ queryKey: ['providers'], queryFn: () => api<Catalog>('GET', '/api/providers'), staleTime: 5 * 60_000 });

/** Owners and admins only (the API refuses others), hence `enabled`. */
export const useConnections = (enabled: boolean) =>
  useQuery({ queryKey: ['connections'], queryFn: () => api<Connection[]>('GET', '/api/api-credentials?limit=500'), enabled });

export const useConnection = (id: string) =>
  useQuery({ queryKey: ['connections', id], queryFn: () => api<Connection>('GET', `/api/api-credentials/${id}`) });

/** The operator's KEYHOLD_SIGNUP: whether to offer sign-up at all, and with an invitation. */
export const useSignupMode = () =>
  useQuery({ queryKey: ['signup-mode'], queryFn: () => api<{ mode: 'open' | 'invite' | 'closed' }>('GET', '/api/auth/signup'), staleTime: Infinity });
