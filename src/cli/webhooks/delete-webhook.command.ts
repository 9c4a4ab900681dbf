import { cliCommandContext } from '../cli-actor.js';
import { CliCommand, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { webhookEndpoints } from './webhook-options.js';

@SubCommand({
  name: 'delete',
  arguments: '<id>',
  argsDescription: { id: 'the endpoint id' },
  description: 'Delete a webhook endpoint: nothing more is sent to it',
})
export class DeleteWebhookCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    await (await webhookEndpoints(this.registry)).delete(id, cliCommandContext());
    if (this.json) return writeJson({ id, deleted: true });
    writeOut(`Deleted webhook endpoint ${id}.`);
  }
}
