import type { ErrorAction, ErrorCode } from '@keyhold/contract';

export type { ErrorCode };

/**
 * The one error type services throw for anything a caller should see. The HTTP error handler is
 * the only place that turns it into a response; the message must be safe to show to a user.
 */
export class AppError extends Error {
  readonly actions?: ErrorAction[];
  /** Headers the response must carry (e.g. `Retry-After`). */
  readonly headers?: Record<string, string>;

  constructor(
    readonly code: ErrorCode,
    readonly httpStatus: number,
    message: string,
    opts: { actions?: ErrorAction[]; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AppError';
    if (opts.actions) this.actions = opts.actions;
    if (opts.headers) this.headers = opts.headers;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', 404, `${what} not found`);
