import { type ErrorAction, type ErrorCode, defaultStatusFor } from '@keyhold/contract';

export type { ErrorCode };

/**
 * The one error type services throw for anything a caller should see. The HTTP error handler is
 * the only place that turns it into a response; the message must be safe to show to a user.
 */
export class AppError extends Error {
  readonly actions?: ErrorAction[];
  /** Headers the response must carry (e.g. `Retry-After`). */
  readonly headers?: Record<string, string>;
  /** From the code (`ERROR_CODES` in contract), unless a route documents another (`status`). */
  readonly httpStatus: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    opts: { actions?: ErrorAction[]; cause?: unknown; headers?: Record<string, string>; status?: number } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.httpStatus = opts.status ?? defaultStatusFor(code);
    this.name = 'AppError';
    if (opts.actions) this.actions = opts.actions;
    if (opts.headers) this.headers = opts.headers;
  }
}

export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
