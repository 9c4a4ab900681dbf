import { cliActor } from '../cli-actor.js';
import { CliCommand, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { webhookEndpoints } from './webhook-options.js';

@SubCommand({
  name: 'redeliver',
  arguments: '<id> <deliveryId>',
  argsDescription: { id: 'the endpoint id', deliveryId: 'a delivery id from "webhooks deliveries"' },
  description: 'Send a delivery again (same webhook-id); a running server delivers it',
})
export class RedeliverWebhookCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id, deliveryId]: string[]): Promise<void> {
    const delivery = await (await webhookEndpoints(this.registry)).redeliver(id, deliveryId, cliActor());
    if (this.json) return writeJson(delivery);
    writeOut(`Queued delivery ${delivery.id} (message ${delivery.messageId}) again.`);
  }
}
