import { CliCommand, Command } from './cli-command.js';
import { writeJson, writeOut } from './output.js';
import { Registry } from './registry.js';

@Command({ name: 'migrate', description: 'Apply pending database migrations (whatever RUN_MIGRATIONS says); safe to run again' })
export class MigrateCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(): Promise<void> {
    const applied = await this.registry.migrate();
    if (this.json) writeJson({ applied });
    else {
      writeOut(
        applied.length > 0 ? `applied ${applied.length} migration(s): ${applied.join(', ')}` : 'nothing to apply: the schema is up to date',
      );
    }
  }
}
