import type { CommerceSettings, CommerceSummary, WorkingCapital, WorkingCapitalSnapshot } from '@keyhold/contract';
import { useQuery } from '@tanstack/react-query';
import { api } from './client';

// The exchange-rate routes declare these shapes in the server (modules/exchange-rates); mirrored here.
export type RateCompanyStatus = {
  connection: string; label: string; company: string | null; connectionStatus: string; enabled: boolean;
  lastSyncAt: string | null; lastAttemptAt: string | null;
  rates: { total: number; synced: number; pending: number };
  syncing: { total: number; successful: number; failed: number };
};
export type StoredRate = { connection: string; currency: string; date: string; homeCurrency: string; rate: string; source: string; syncedAt: string | null; error: string | null };
export type RateSyncResult = { connection: string; label: string; company: string | null; homeCurrency: string | null; rates_synced: number; skipped?: string[]; error?: string };

const day = (d: Date) => d.toISOString().slice(0, 10);

export const useWorkingCapital = () =>
  useQuery({ queryKey: ['working-capital', 'current'], queryFn: () => api<WorkingCapital>('GET', '/api/working-capital/current') });

export const useWorkingCapitalHistory = (days: number, enabled: boolean) =>
  useQuery({
    queryKey: ['working-capital', 'history', days],
    // 30 days is the API's default, counted from the server's today (this browser's clock may differ).
    queryFn: () => api<WorkingCapitalSnapshot[]>('GET', days === 30 ? '/api/working-capital/history'
      : `/api/working-capital/history?from=${day(new Date(Date.now() - (days - 1) * 86_400_000))}&to=${day(new Date())}`),
    enabled,
  });

export const useRateStatus = () =>
  useQuery({ queryKey: ['exchange-rates', 'status'], queryFn: () => api<RateCompanyStatus[]>('GET', '/api/exchange-rates/status') });

export const useRates = (connection: string | null) =>
  useQuery({ queryKey: ['exchange-rates', 'rates', connection], queryFn: () => api<StoredRate[]>('GET', `/api/exchange-rates?connection=${connection}&limit=200`), enabled: connection !== null });

export const useCommerceSummary = () =>
  useQuery({ queryKey: ['commerce', 'summary'], queryFn: () => api<CommerceSummary>('GET', '/api/commerce/summary') });

export const useCommerceSettings = () =>
  useQuery({ queryKey: ['commerce', 'settings'], queryFn: () => api<CommerceSettings>('GET', '/api/commerce/settings') });
