import type { ParseArgsConfig } from 'node:util';
import type { Config, ConfigError } from '../platform/config.js';
import type { Logger } from '../platform/logger.js';

/** What a command's `run` gets: the located configuration, a logger on stderr and its parsed arguments. */
export type CommandContext = {
  config: Config;
  log: Logger;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
};

export type Command = {
  /** The words that name it: `['tenants', 'list']`. */
  path: string[];
  /** One line for `keyhold --help` and docs/cli.md. */
  summary: string;
  /** Arguments after the path, as shown in its usage line. */
  args?: string;
  /** Extra lines for `keyhold <command> --help`. */
  details?: string;
  options?: NonNullable<ParseArgsConfig['options']>;
  /** How many positional arguments it takes (default 0). */
  maxPositionals?: number;
  /** Runs before configuration is read (nothing to connect to). */
  standalone?: (ctx: Omit<CommandContext, 'config' | 'log'>) => Promise<number> | number;
  run?: (ctx: CommandContext) => Promise<number>;
  /** Reports a configuration that does not load, instead of the usual error (the doctor). */
  onConfigError?: (err: ConfigError, ctx: Omit<CommandContext, 'config' | 'log'>) => Promise<number> | number;
  /** Long-running servers log to stdout; one-shot commands keep stdout for their output. */
  logsToStdout?: boolean;
  /** Servers choose their own database; one-shot commands look for the running server's. */
  locatesServer?: boolean;
};

/** Exit codes every command keeps to (docs/cli.md). */
export const EXIT = {
  ok: 0,
  /** The command ran and something failed: a check, a refused input, a missing tenant, an error. */
  failed: 1,
  /** The command line itself is wrong: unknown command or option, missing argument. */
  usage: 2,
  /** Ctrl-C at a prompt. */
  interrupted: 130,
} as const;

export const usageLine = (c: Command) => `keyhold ${c.path.join(' ')}${c.args ? ` ${c.args}` : ''}`;

export function commandHelp(c: Command): string {
  return [`Usage: ${usageLine(c)}`, '', c.summary, ...(c.details ? ['', c.details.trimEnd()] : []), '', 'Options for every command: --data-dir <dir> (which Keyhold data dir), -h/--help', ''].join('\n');
}

/** Raised for a mistake the operator can fix (unknown tenant…): printed without a stack, exit 1. */
export class CliError extends Error {
  override name = 'CliError';
}
