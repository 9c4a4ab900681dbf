import { cliCommandContext } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { inFlagTerms, UsageError } from '../errors.js';
import { collect, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { WEBHOOK_FLAGS, webhookEndpoints } from './webhook-options.js';
import { renderEndpoint } from './webhook-output.js';

interface UpdateOptions {
  url?: string;
  eventType?: string[];
  enable?: boolean;
  disable?: boolean;
}

@SubCommand({
  name: 'update',
  arguments: '<id>',
  argsDescription: { id: 'the endpoint id' },
  description: 'Change a webhook endpoint: URL, event types, enabled',
})
export class UpdateWebhookCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[], options: UpdateOptions): Promise<void> {
    if (options.enable && options.disable) throw new UsageError('give --enable or --disable, not both');
    const enabled = options.enable ? true : options.disable ? false : undefined;
    const endpoints = await webhookEndpoints(this.registry);
    const view = await inFlagTerms(
      endpoints.update(id, { url: options.url, eventTypes: options.eventType, enabled }, cliCommandContext()),
      WEBHOOK_FLAGS,
    );
    if (this.json) return writeJson(view);
    writeOut(renderEndpoint(view));
  }

  @Option({ flags: '--url <url>', description: 'the new URL' })
  parseUrl(value: string): string {
    return value;
  }

  @Option({ flags: '--event-type <type>', description: 'the new event types, replacing the old ones (repeatable)' })
  parseEventType(value: string, previous?: string[]): string[] {
    return collect(value, previous);
  }

  @Option({ flags: '--enable', description: 'resume deliveries' })
  parseEnable(): boolean {
    return true;
  }

  @Option({ flags: '--disable', description: 'pause deliveries (events meanwhile are not queued for it)' })
  parseDisable(): boolean {
    return true;
  }
}
