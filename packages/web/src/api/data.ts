import type {
  InboundEvent, KeyholdEvent, Notification, NotificationSettings, Pagination, SyncRun, SyncState, WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret,
} from '@keyhold/contract';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from './client';

export type { InboundEvent, Notification, NotificationSettings, SyncRun, SyncState, WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret };
export type Paged<T> = { items: T[]; pagination: Pagination };

/** A page of a list: its items and the envelope's pagination. */
async function apiPage<T>(path: string): Promise<Paged<T>> {
  const body = await api<{ data: T[]; pagination: Pagination }>('GET', path, { envelope: true });
  return { items: body.data, pagination: body.pagination };
}

const query = (params: Record<string, string | number | undefined>) =>
  new URLSearchParams(Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '').map(([k, v]) => [k, String(v)])).toString();

/** One connection's events, newest first (the server filters: GET /api/events?connection=). */
export const useConnectionTimeline = (id: string, enabled: boolean) =>
  useQuery({ queryKey: ['events', id], queryFn: () => api<KeyholdEvent[]>('GET', `/api/events?${query({ connection: id, limit: 50 })}`), enabled });

/** The connection's syncs with their schedules (member+). */
export const useConnectionSyncs = (id: string) =>
  useQuery({ queryKey: ['syncs', id], queryFn: () => api<SyncState[]>('GET', `/api/syncs?${query({ connection: id, limit: 100 })}`) });

/** The connection's sync runs, newest first; polled while one is queued or running. */
export const useConnectionRuns = (id: string, page: number, poll: boolean) =>
  useQuery({
    queryKey: ['sync-runs', id, page],
    queryFn: () => apiPage<SyncRun>(`/api/syncs/runs?${query({ connection: id, page, limit: 10 })}`),
    placeholderData: keepPreviousData,
    refetchInterval: poll ? 2_000 : false,
  });

export const useWebhookEndpoints = () =>
  useQuery({ queryKey: ['webhook-endpoints'], queryFn: () => api<WebhookEndpoint[]>('GET', '/api/webhook-endpoints') });

export const useWebhookEndpoint = (id: string) =>
  useQuery({ queryKey: ['webhook-endpoints', id], queryFn: () => api<WebhookEndpoint>('GET', `/api/webhook-endpoints/${id}`) });

/** Deliveries to one endpoint; polled while any is still pending. */
export const useDeliveries = (id: string, f: { page: number; status?: string }) =>
  useQuery({
    queryKey: ['deliveries', id, f],
    queryFn: () => apiPage<WebhookDelivery>(`/api/webhook-endpoints/${id}/deliveries?${query({ ...f, limit: 20 })}`),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.items.some((d) => d.status === 'pending') ? 2_000 : false),
    refetchIntervalInBackground: true,
  });

export const useNotifications = (f: { page: number; status?: string; channel?: string }) =>
  useQuery({ queryKey: ['notifications', f], queryFn: () => apiPage<Notification>(`/api/notifications?${query({ ...f, limit: 25 })}`), placeholderData: keepPreviousData });

export const useNotificationSettings = () =>
  useQuery({ queryKey: ['notification-settings'], queryFn: () => api<NotificationSettings>('GET', '/api/notifications/settings') });

export const useInboundEvents = (f: { page: number; provider?: string; topic?: string; status?: string; since?: string }) =>
  useQuery({ queryKey: ['inbound', f], queryFn: () => apiPage<InboundEvent>(`/api/webhooks/inbound?${query({ ...f, limit: 25 })}`), placeholderData: keepPreviousData });
