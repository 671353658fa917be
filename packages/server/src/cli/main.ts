import { parseArgs } from 'node:util';
import { ZodError } from 'zod';
import { AppError } from '../platform/errors.js';
import { type Config, ConfigError, loadConfig } from '../platform/config.js';
import { createLogger, stdioLogDestination } from '../platform/logger.js';
import { VERSION } from '../version.js';
import { CliError, type Command, EXIT, commandHelp, usageLine } from './command.js';
import { COMMANDS } from './commands.js';
import { PromptInterrupted } from './prompt.js';
import { locateServer } from './server-state.js';

function globalUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.path.join(' ').length)) + 2;
  return [
    'Usage: keyhold <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.path.join(' ').padEnd(width)}${c.summary}`),
    '',
    'Options: --data-dir <dir> (the Keyhold data dir to use; default KEYHOLD_DATA_DIR or ./.keyhold), -h/--help, -V/--version',
    "'keyhold <command> --help' shows a command's own options. Exit codes: 0 ok, 1 failed, 2 usage error, 130 interrupted.",
    'Configuration comes from environment variables; see README.md.',
    '',
  ].join('\n');
}

/** The command named by the leading words of argv (the longest match), and the arguments after them. */
function findCommand(argv: string[]): { command?: Command; rest: string[]; words: string[] } {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    words.push(a);
  }
  let best: Command | undefined;
  for (const c of COMMANDS) {
    if (c.path.every((w, i) => words[i] === w) && (!best || c.path.length > best.path.length)) best = c;
  }
  if (!best) return { rest: argv, words };
  const at = argv.indexOf(best.path[best.path.length - 1]!, best.path.length - 1);
  return { command: best, rest: argv.slice(at + 1), words };
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(`keyhold ${VERSION}\n`);
    return EXIT.ok;
  }
  const { command, rest, words } = findCommand(argv);
  if (!command) {
    const asked = argv.length === 0 || argv.includes('--help') || argv.includes('-h');
    if (asked && words.length === 0) {
      process.stdout.write(globalUsage());
      return argv.length === 0 ? EXIT.usage : EXIT.ok;
    }
    const group = COMMANDS.filter((c) => c.path[0] === words[0]);
    const hint = group.length ? `'${words[0]}' takes one of: ${group.map((c) => c.path.slice(1).join(' ')).join(', ')}\n` : '';
    process.stderr.write(`keyhold: unknown command '${words.join(' ')}'\n${hint}\n${group.length ? group.map((c) => `  ${usageLine(c)}`).join('\n') + '\n' : globalUsage()}`);
    return EXIT.usage;
  }

  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: { ...command.options, help: { type: 'boolean', short: 'h' }, 'data-dir': { type: 'string' } },
    }) as typeof parsed;
  } catch (err) {
    process.stderr.write(`keyhold ${command.path.join(' ')}: ${(err as Error).message}\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  if (positionals.length > (command.maxPositionals ?? 0)) {
    process.stderr.write(`keyhold ${command.path.join(' ')}: unexpected argument '${positionals[command.maxPositionals ?? 0]}'\n\n${commandHelp(command)}`);
    return EXIT.usage;
  }
  if (command.standalone) return command.standalone({ values, positionals });

  const dataDir = values['data-dir'] as string | undefined;
  const env = dataDir ? { ...process.env, KEYHOLD_DATA_DIR: dataDir } : process.env;
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError && command.onConfigError) return command.onConfigError(err, { values, positionals });
    throw err;
  }
  const log = createLogger({ level: config.logLevel, destination: stdioLogDestination(command.logsToStdout ? 1 : 2) });
  if (command.locatesServer) {
    const located = locateServer(config, env, { dataDirChosen: dataDir !== undefined });
    config = located.config;
    if (located.note) process.stderr.write(`${located.note}\n`);
  }
  try {
    return await command.run!({ config, log, values, positionals });
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`keyhold ${command.path.join(' ')}: ${err.message}\n`);
      return EXIT.failed;
    }
    throw err;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // `start` keeps running until a signal; every other command exits with its status.
    if (code !== -1) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof PromptInterrupted) {
      process.exit(EXIT.interrupted);
    } else if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
    } else if (err instanceof ZodError) {
      process.stderr.write(`keyhold: invalid input: ${err.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ')}\n`);
    } else if (err instanceof AppError) {
      process.stderr.write(`keyhold: ${err.message} [${err.code}]\n`);
    } else {
      process.stderr.write(`keyhold: ${err instanceof Error ? err.message : String(err)}\n`);
    }
    process.exit(EXIT.failed);
  },
);
