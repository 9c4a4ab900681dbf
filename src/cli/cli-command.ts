import { Command as Program, Option as ProgramOption } from 'commander';
import { UsageError } from './errors.js';
import { writeErr } from './output.js';
import type { Registry } from './registry.js';

/**
 * A command as it is declared: `@Command`/`@SubCommand` on the class, `@Option` on the method that
 * parses each option's value (the decorators nest-commander had, read here without Nest). The
 * commander program is built from these alone, so --help, --version and bad input are answered
 * before anything of Nest or the registry is loaded: a command loads those when it runs.
 */
export interface CommandMeta {
  name: string;
  description: string;
  /** As commander spells them: `<id> [name] <files...>`. */
  arguments?: string;
  argsDescription?: Record<string, string>;
  subCommands?: CliCommandType[];
}

interface OptionMeta {
  flags: string;
  description: string;
  required?: boolean;
  /** Shown in --help; the option's parser checks them (it replaces commander's own check). */
  choices?: string[];
}

export type CliCommandType = (new (registry: Registry) => CliCommand) & { meta?: CommandMeta };

const OPTIONS = new WeakMap<object, { meta: OptionMeta; method: string }[]>();

export function Command(meta: CommandMeta): (target: CliCommandType) => void {
  return (target) => {
    target.meta = meta;
  };
}

/** A subcommand is declared the same way; its group names it in `subCommands`. */
export const SubCommand = Command;

export function Option(meta: OptionMeta): (target: object, method: string) => void {
  return (target, method) => {
    OPTIONS.set(target, [...(OPTIONS.get(target) ?? []), { meta, method }]);
  };
}

/** Every keyledger command: knows whether --json (a program-wide option) was given. */
export abstract class CliCommand {
  protected command!: Program;

  abstract run(params: string[], options: object): Promise<void>;

  setCommand(command: Program): void {
    this.command = command;
  }

  protected get json(): boolean {
    return this.command.optsWithGlobals<{ json?: boolean }>().json === true;
  }
}

/** The commander command a class declares, with its options and subcommands; the class's `run` is its action. */
export function buildCommand(type: CliCommandType, registry: Registry): Program {
  const meta = type.meta;
  if (!meta) throw new Error(`${type.name} has no @Command`);
  const instance = new type(registry);
  const command = new Program(meta.name);
  instance.setCommand(command);
  for (const arg of meta.arguments?.split(' ') ?? []) {
    const described = Object.keys(meta.argsDescription ?? {}).filter((key) => arg.includes(key));
    command.argument(arg, described.length > 0 ? meta.argsDescription![described[described.length - 1]] : '');
  }
  command.description(meta.description);
  const parsers = instance as unknown as Record<string, (value: string, previous: unknown) => unknown>;
  for (const { meta: option, method } of OPTIONS.get(type.prototype as object) ?? []) {
    const added = new ProgramOption(option.flags, option.description).makeOptionMandatory(option.required ?? false);
    if (option.choices?.length) added.choices(option.choices);
    command.addOption(added.argParser(parsers[method].bind(instance)));
  }
  command.action(() => instance.run(command.args, command.opts<Record<string, unknown>>()));
  for (const sub of meta.subCommands ?? []) command.addCommand(buildCommand(sub, registry));
  return command;
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
