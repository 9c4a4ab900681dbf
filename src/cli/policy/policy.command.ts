import { Command, CommandGroup } from '../cli-command.js';
import { GetPolicyCliCommand } from './get-policy.command.js';
import { SetPolicyCliCommand } from './set-policy.command.js';

export const POLICY_COMMANDS = [GetPolicyCliCommand, SetPolicyCliCommand];

@Command({ name: 'policy', description: "Read and set the key policy: the platform default or a tenant's", subCommands: POLICY_COMMANDS })
export class PolicyCliCommand extends CommandGroup {}
