import type { INestApplicationContext } from '@nestjs/common';
import type { Command } from 'commander';
import { CommandFactory, CommandRunnerService } from 'nest-commander';
import { CliModule, CliProgram } from './cli.module.js';
import { isDebug, StderrLogger } from './cli-logger.js';
import { EXIT_OK, formatError, isCleanExit, isCommanderError, toErrorReport } from './errors.js';
import { CLI_VERSION } from './version.js';

/** `--json` anywhere before a `--`: decides how errors are written, even those found while parsing. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function configure(program: Command): void {
  program
    .name('keyledger')
    .description('Operate a keyledger registry: API keys, the audit log, projections, migrations, the server')
    .version(CLI_VERSION, '-V, --version')
    .option('--json', 'machine-readable output: JSON on stdout, errors as {"error":{...}} on stderr')
    .configureHelp({ showGlobalOptions: true });
  const each = (command: Command): void => {
    // Errors are thrown (not process.exit) so the registry is closed, and printed once, by us.
    command.exitOverride();
    command.configureHelp({ showGlobalOptions: true });
    command.configureOutput({ outputError: () => undefined });
    // A command without subcommands takes exactly the arguments it declares.
    if (command.commands.length === 0) command.allowExcessArguments(false);
    command.commands.forEach(each);
  };
  each(program);
}

/** Runs one CLI invocation (`argv` as process.argv: node, script, args…); resolves with the process exit code. Never throws, never prints a stack (unless LOG_LEVEL=debug). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  let failure: unknown;
  let cli: INestApplicationContext | undefined;
  const report = (error: unknown): void => {
    failure ??= error;
  };
  try {
    cli = await CommandFactory.createWithoutRunning(CliModule, {
      logger: new StderrLogger({ logLevels: ['fatal', 'error'] }),
      abortOnError: false,
      serviceErrorHandler: report,
    });
    configure(cli.get(CliProgram).program);
    await cli.get(CommandRunnerService).run([...argv]);
  } catch (error) {
    report(error);
  }
  // Report first, then close: the registry's context, then the embedded PostgreSQL if this run started it.
  let exitCode = EXIT_OK;
  if (failure !== undefined && !isCleanExit(failure)) {
    const error = toErrorReport(failure);
    exitCode = error.exitCode;
    // Commander already printed the help that explains a missing command.
    if (!(isCommanderError(failure) && failure.code === 'commander.help')) process.stderr.write(formatError(error, json));
    if (isDebug() && failure instanceof Error && failure.stack) process.stderr.write(`${failure.stack}\n`);
  }
  try {
    await cli?.close();
  } catch (error) {
    process.stderr.write(formatError(toErrorReport(error), json));
    exitCode ||= 1;
  }
  return exitCode;
}
