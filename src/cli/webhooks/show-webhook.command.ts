import { cliActor } from '../cli-actor.js';
import { CliCommand, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { webhookEndpoints } from './webhook-options.js';
import { renderEndpoint } from './webhook-output.js';

@SubCommand({
  name: 'show',
  arguments: '<id>',
  argsDescription: { id: 'the endpoint id' },
  description: 'Show one webhook endpoint (never its secret)',
})
export class ShowWebhookCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[]): Promise<void> {
    const view = await (await webhookEndpoints(this.registry)).get(id, cliActor());
    if (this.json) return writeJson(view);
    writeOut(renderEndpoint(view));
  }
}
