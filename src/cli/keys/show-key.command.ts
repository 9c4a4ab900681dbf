import { cliActor } from '../cli-actor.js';
import { CliCommand, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderHistory, renderKey } from './key-output.js';

@SubCommand({
  name: 'show',
  arguments: '<id>',
  argsDescription: { id: 'the key id (UUID) or its publicId' },
  description: 'One key and its history (who created, rotated, expired or revoked it, and when)',
})
export class ShowKeyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const queries = await this.registry.queryBus();
    const { GetKeyQuery, KeyHistoryQuery } = await import('../../keys/index.js');
    const view = await queries.execute(new GetKeyQuery(cliActor(), id));
    const { items } = await queries.execute(new KeyHistoryQuery(cliActor(), view.id));
    if (this.json) {
      writeJson({ ...view, history: items });
      return;
    }
    writeOut(renderKey(view, new Date()));
    writeOut('');
    writeOut(renderHistory(items));
  }
}
