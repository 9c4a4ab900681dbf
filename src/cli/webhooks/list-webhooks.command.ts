import { cliActor } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { webhookEndpoints } from './webhook-options.js';
import { renderEndpointTable } from './webhook-output.js';

@SubCommand({ name: 'list', description: 'List webhook endpoints, oldest first' })
export class ListWebhooksCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_params: string[], options: { tenant?: string }): Promise<void> {
    const items = await (await webhookEndpoints(this.registry)).list(cliActor(), options.tenant);
    if (this.json) return writeJson({ items });
    writeOut(items.length === 0 ? 'No webhook endpoints.' : renderEndpointTable(items));
  }

  @Option({ flags: '--tenant <tenantId>', description: "only this tenant's endpoints" })
  parseTenant(value: string): string {
    return value;
  }
}
