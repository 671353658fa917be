import { z } from 'zod';

export const PAGINATION_MAX_LIMIT = 500;

export const PaginationSchema = z.object({
  page: z.number().int().min(1),
  limit: z.number().int().min(1).max(PAGINATION_MAX_LIMIT),
  total: z.number().int().min(0),
  totalPages: z.number().int().min(0),
  hasMore: z.boolean(),
});
export type Pagination = z.infer<typeof PaginationSchema>;

/** `{ success: true, data }` — the body of every successful response. */
export function successEnvelope<T extends z.ZodType>(data: T) {
  return z.object({
    success: z.literal(true),
    data,
    message: z.string().optional(),
  });
}

/** `{ success: true, data: [...], pagination }` — the body of every list response. */
export function pagedEnvelope<T extends z.ZodType>(item: T) {
  return z.object({
    success: z.literal(true),
    data: z.array(item),
    pagination: PaginationSchema,
    message: z.string().optional(),
  });
}

export function paginate(page: number, limit: number, total: number): Pagination {
  const totalPages = Math.ceil(total / limit);
  return { page, limit, total, totalPages, hasMore: page < totalPages };
}

/** `?page=&limit=` of every list route: page ≥ 1, limit 1–500. */
export function pageQuery(defaultLimit = 20) {
  return z.object({
    page: z.coerce.number().int().min(1).default(1),
    limit: z.coerce.number().int().min(1).max(PAGINATION_MAX_LIMIT).default(defaultLimit),
  });
}
