import { Command, CommandGroup } from '../cli-command.js';
import { CreateKeyCliCommand } from './create-key.command.js';
import { ExpireKeyCliCommand } from './expire-key.command.js';
import { ListKeysCliCommand } from './list-keys.command.js';
import { ReportLeakCliCommand } from './report-leak.command.js';
import { RevokeKeyCliCommand } from './revoke-key.command.js';
import { RotateKeyCliCommand } from './rotate-key.command.js';
import { ReportKeysCliCommand } from './report-keys.command.js';
import { ShowKeyCliCommand } from './show-key.command.js';

export const KEY_COMMANDS = [
  CreateKeyCliCommand,
  ListKeysCliCommand,
  ShowKeyCliCommand,
  RotateKeyCliCommand,
  ExpireKeyCliCommand,
  RevokeKeyCliCommand,
  ReportKeysCliCommand,
  ReportLeakCliCommand,
];

@Command({
  name: 'keys',
  description: 'Issue, list, show, rotate, expire and revoke API keys; report on all of them; report leaked ones',
  subCommands: KEY_COMMANDS,
})
export class KeysCliCommand extends CommandGroup {}
