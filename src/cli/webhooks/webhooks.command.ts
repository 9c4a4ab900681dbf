import { Command, CommandGroup } from '../cli-command.js';
import { CreateWebhookCliCommand } from './create-webhook.command.js';
import { DeleteWebhookCliCommand } from './delete-webhook.command.js';
import { ListWebhooksCliCommand } from './list-webhooks.command.js';
import { RedeliverWebhookCliCommand } from './redeliver-webhook.command.js';
import { ShowWebhookCliCommand } from './show-webhook.command.js';
import { UpdateWebhookCliCommand } from './update-webhook.command.js';
import { WebhookDeliveriesCliCommand } from './webhook-deliveries.command.js';

export const WEBHOOK_COMMANDS = [
  CreateWebhookCliCommand,
  ListWebhooksCliCommand,
  ShowWebhookCliCommand,
  UpdateWebhookCliCommand,
  DeleteWebhookCliCommand,
  WebhookDeliveriesCliCommand,
  RedeliverWebhookCliCommand,
];

@Command({
  name: 'webhooks',
  description: 'Add, list, show, change and delete webhook endpoints; their delivery log; redeliver',
  subCommands: WEBHOOK_COMMANDS,
})
export class WebhooksCliCommand extends CommandGroup {}
