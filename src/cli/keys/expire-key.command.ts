import { CommandBus } from '@nestjs/cqrs';
import { SubCommand } from 'nest-commander';
import { cliCommandContext } from '../cli-actor.js';
import { CliCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderKey } from './key-output.js';
import { inKeyTerms } from './key-ref.js';

@SubCommand({
  name: 'expire',
  arguments: '<id>',
  argsDescription: { id: 'the key id (UUID) or its publicId' },
  description: 'Expire the key now (it stops working; the record stays)',
})
export class ExpireKeyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const bus = await this.registry.get(CommandBus);
    const { ExpireKeyCommand } = await import('../../keys/index.js');
    const view = await inKeyTerms(this.registry, id, bus.execute(new ExpireKeyCommand(id, 'manual', cliCommandContext())));
    if (this.json) writeJson(view);
    else writeOut(renderKey(view, new Date()));
  }
}
