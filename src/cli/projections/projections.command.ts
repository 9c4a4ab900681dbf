import { Command, CommandGroup } from '../cli-command.js';
import { ProjectionsStatusCliCommand } from './projections-status.command.js';
import { RebuildProjectionsCliCommand } from './rebuild-projections.command.js';

export const PROJECTION_COMMANDS = [ProjectionsStatusCliCommand, RebuildProjectionsCliCommand];

@Command({ name: 'projections', description: 'Read-model status and rebuilds', subCommands: PROJECTION_COMMANDS })
export class ProjectionsCliCommand extends CommandGroup {}
