import { Command } from 'commander';
import { AuditCliCommand } from './audit/audit.command.js';
import { buildCommand, type CliCommandType } from './cli-command.js';
import { EXIT_OK, formatError, isCleanExit, isCommanderError, toErrorReport } from './errors.js';
import { GuardRoleCliCommand } from './guard-role/guard-role.command.js';
import { KeysCliCommand } from './keys/keys.command.js';
import { MigrateCliCommand } from './migrate.command.js';
import { PolicyCliCommand } from './policy/policy.command.js';
import { ProjectionsCliCommand } from './projections/projections.command.js';
import { Registry } from './registry.js';
import { ScanCliCommand } from './scan/scan.command.js';
import { ServeCliCommand } from './serve.command.js';
import { CLI_VERSION } from './version.js';
import { WebhooksCliCommand } from './webhooks/webhooks.command.js';

/** keyledger's commands, in the order --help lists them. */
const COMMANDS: CliCommandType[] = [
  KeysCliCommand,
  PolicyCliCommand,
  AuditCliCommand,
  ProjectionsCliCommand,
  GuardRoleCliCommand,
  WebhooksCliCommand,
  MigrateCliCommand,
  ScanCliCommand,
  ServeCliCommand,
];

function isDebug(env: Record<string, string | undefined> = process.env): boolean {
  return ['debug', 'verbose'].includes(env.LOG_LEVEL?.trim() ?? '');
}

/** `--json` anywhere before a `--`: decides how errors are written, even those found while parsing. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).includes('--json');
}

function program(registry: Registry): Command {
  const root = new Command()
    .name('keyledger')
    .description('Operate a keyledger registry: API keys, the audit log, projections, migrations, the server')
    .version(CLI_VERSION, '-V, --version')
    .option('--json', 'machine-readable output: JSON on stdout, errors as {"error":{...}} on stderr')
    .configureHelp({ showGlobalOptions: true });
  for (const command of COMMANDS) root.addCommand(buildCommand(command, registry));
  const each = (command: Command): void => {
    // Errors are thrown (not process.exit) so the registry is closed, and printed once, by us.
    command.exitOverride();
    command.configureHelp({ showGlobalOptions: true });
    command.configureOutput({ outputError: () => undefined });
    // A command without subcommands takes exactly the arguments it declares.
    if (command.commands.length === 0) command.allowExcessArguments(false);
    command.commands.forEach(each);
  };
  each(root);
  return root;
}

/** Runs one CLI invocation (`argv` as process.argv: node, script, args…); resolves with the process exit code. Never throws, never prints a stack (unless LOG_LEVEL=debug). */
export async function runCli(argv: readonly string[]): Promise<number> {
  const json = wantsJson(argv);
  const registry = new Registry();
  let failure: unknown;
  try {
    await program(registry).parseAsync([...argv]);
  } catch (error) {
    failure = error;
  }
  // Report first, then close: the registry's context, then the embedded PostgreSQL if this run started it.
  let exitCode = EXIT_OK;
  if (failure !== undefined && !isCleanExit(failure)) {
    const error = await toErrorReport(failure);
    exitCode = error.exitCode;
    // Commander already printed the help that explains a missing command.
    if (!(isCommanderError(failure) && failure.code === 'commander.help')) process.stderr.write(formatError(error, json));
    if (isDebug() && failure instanceof Error && failure.stack) process.stderr.write(`${failure.stack}\n`);
  }
  try {
    await registry.close();
  } catch (error) {
    process.stderr.write(formatError(await toErrorReport(error), json));
    exitCode ||= 1;
  }
  return exitCode;
}
