import { CommandRunner } from 'nest-commander';
import { UsageError } from './errors.js';
import { writeErr } from './output.js';

/** Every keyledger command: knows whether --json (a program-wide option) was given. */
export abstract class CliCommand extends CommandRunner {
  protected get json(): boolean {
    return this.command.optsWithGlobals<{ json?: boolean }>().json === true;
  }
}

/** `keyledger keys` alone: the group's help, then a usage error (exit 2). */
export abstract class CommandGroup extends CliCommand {
  run(params: string[]): Promise<void> {
    const path = commandPath(this.command);
    if (params.length > 0) return Promise.reject(new UsageError(`unknown command "${path} ${params[0]}"; see "${path} --help"`));
    writeErr(this.command.helpInformation());
    const names = this.command.commands.map((c) => c.name()).join(', ');
    return Promise.reject(new UsageError(`"${path}" needs a command: ${names}`));
  }
}

/** `keyledger keys create`, for messages. */
export function commandPath(command: { name(): string; parent: unknown }): string {
  const names: string[] = [];
  for (let c: { name(): string; parent: unknown } | null = command; c; c = c.parent as typeof c) names.unshift(c.name());
  return names.join(' ');
}
