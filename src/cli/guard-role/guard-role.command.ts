import { Command, CommandGroup } from '../cli-command.js';
import { CreateGuardRoleCliCommand } from './create-guard-role.command.js';

export const GUARD_ROLE_COMMANDS = [CreateGuardRoleCliCommand];

@Command({ name: 'guard-role', description: 'PostgreSQL roles for services that run the guard', subCommands: GUARD_ROLE_COMMANDS })
export class GuardRoleCliCommand extends CommandGroup {}
