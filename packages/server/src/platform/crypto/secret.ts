import { inspect } from 'node:util';

const REDACTED = '[REDACTED]';

/**
 * A plaintext credential in memory. It prints as `[REDACTED]` everywhere (string conversion,
 * JSON, console/inspect, pino), so it cannot leak by accident; `reveal()` is the one explicit
 * way to use the value.
 */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

/** For display: short values become `***`; others keep 3 leading and 4 trailing characters. */
export function mask(value: string | Secret): string {
  const v = value instanceof Secret ? value.reveal() : value;
  return v.length < 8 ? '***' : `${v.slice(0, 3)}****${v.slice(-4)}`;
}
