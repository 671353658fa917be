import type { z } from 'zod';
import type {
  ApiKeySchema, AuditEntrySchema, CreatedApiKeySchema, MfaSetupSchema, OnboardingSchema, Pagination,
  RecoveryCodesSchema, SessionSchema, UserSchema,
} from '@keyhold/contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from './client';
import type { Me } from './types';

export type User = z.infer<typeof UserSchema>;
export type ApiKey = z.infer<typeof ApiKeySchema>;
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;
export type AuditEntry = z.infer<typeof AuditEntrySchema>;
export type Session = z.infer<typeof SessionSchema>;
export type MfaSetup = z.infer<typeof MfaSetupSchema>;
export type RecoveryCodes = z.infer<typeof RecoveryCodesSchema>;
export type Onboarding = z.infer<typeof OnboardingSchema>;
export type OnboardingStep = Onboarding['skipped'][number];

/** What a tenant API key may hold (the server's list less the platform-only scope); the API checks. */
export const KEY_SCOPES = [
  'credentials:read', 'credentials:write', 'proxy', 'syncs:run', 'records:read', 'audit:read', 'events:read',
  'webhooks:read', 'webhooks:write', 'users:read', 'users:write', 'api_keys:read', 'api_keys:write',
] as const;

/** The signed-in person as the server knows them now (MFA turned on since sign-in shows here). */
export const useFreshMe = () => useQuery({ queryKey: ['me'], queryFn: () => api<Me>('GET', '/api/auth/me') });

/** Owners and admins only (the API refuses others), hence `enabled`. */
export const useUsers = (enabled: boolean) =>
  useQuery({ queryKey: ['users'], queryFn: async () => (await api<User[]>('GET', '/api/users?limit=100')), enabled });

export const useApiKeys = () => useQuery({ queryKey: ['api-keys'], queryFn: () => api<ApiKey[]>('GET', '/api/api-keys') });

export const useSessions = () => useQuery({ queryKey: ['sessions'], queryFn: () => api<Session[]>('GET', '/api/auth/sessions') });

export type AuditFilter = { action?: string; actorId?: string; outcome?: 'success' | 'failure'; from?: string; to?: string };

export const auditQuery = (f: AuditFilter) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  return q;
};

export const useAuditLog = (filter: AuditFilter, page: number, limit = 25) =>
  useQuery({
    queryKey: ['audit', filter, page, limit],
    queryFn: async () => {
      const q = auditQuery(filter);
      q.set('page', String(page));
      q.set('limit', String(limit));
      return api<{ items: AuditEntry[]; pagination: Pagination }>('GET', `/api/audit-logs?${q}`, { as: 'paged' });
    },
    placeholderData: keepPreviousData,
  });

/** The server's CSV of the same filter (the token stays in memory: fetched, then saved from a blob). */
export const fetchAuditCsv = (filter: AuditFilter) => api<string>('GET', `/api/audit-logs/export.csv?${auditQuery(filter)}`, { as: 'text' });

export const useOnboarding = () => useQuery({ queryKey: ['onboarding'], queryFn: () => api<Onboarding>('GET', '/api/auth/onboarding') });

export function useUpdateOnboarding() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { skipped?: OnboardingStep[]; dismissed?: boolean }) => api<Onboarding>('PUT', '/api/auth/onboarding', { body }),
    onSuccess: (data) => queryClient.setQueryData(['onboarding'], data),
  });
}
