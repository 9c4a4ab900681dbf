import { cliActor } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { parsePositiveInt, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { webhookEndpoints } from './webhook-options.js';
import { renderDeliveryTable } from './webhook-output.js';

@SubCommand({
  name: 'deliveries',
  arguments: '<id>',
  argsDescription: { id: 'the endpoint id' },
  description: "An endpoint's delivery log, newest first",
})
export class WebhookDeliveriesCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[], options: { limit?: string }): Promise<void> {
    const limit = options.limit === undefined ? 50 : parsePositiveInt(options.limit, '--limit', 500);
    const page = await (await webhookEndpoints(this.registry)).deliveries(id, cliActor(), limit, undefined);
    if (this.json) return writeJson(page);
    writeOut(page.items.length === 0 ? 'No deliveries yet.' : renderDeliveryTable(page.items));
  }

  @Option({ flags: '--limit <n>', description: 'at most this many (default 50, at most 500)' })
  parseLimit(value: string): string {
    return value;
  }
}
