import type { Pagination } from '@keyhold/contract';

/** `{ success: true, data }` — route handlers return this, never a bare object. */
export function ok<T>(data: T, extra: { pagination?: Pagination; message?: string } = {}) {
  return { success: true as const, data, ...extra };
}

/** `{ success: true, data: [...], pagination }` — list route handlers return this. */
export function page<T>(data: T[], pagination: Pagination) {
  return { success: true as const, data, pagination };
}
