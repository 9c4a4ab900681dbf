import { cliCommandContext } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { inFlagTerms } from '../errors.js';
import { collect, writeErr, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { WEBHOOK_FLAGS, webhookEndpoints } from './webhook-options.js';
import { renderEndpoint } from './webhook-output.js';

@SubCommand({ name: 'create', description: 'Add a webhook endpoint: prints its signing secret (this once only), then the endpoint' })
export class CreateWebhookCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_params: string[], options: { url: string; eventType?: string[]; tenant?: string }): Promise<void> {
    const endpoints = await webhookEndpoints(this.registry);
    const created = await inFlagTerms(
      endpoints.create({ url: options.url, eventTypes: options.eventType ?? [], tenantId: options.tenant }, cliCommandContext()),
      WEBHOOK_FLAGS,
    );
    if (this.json) return writeJson(created);
    const { secret, ...view } = created;
    writeOut(secret); // alone on its line: `| head -1` gets it
    writeOut(renderEndpoint(view));
    writeErr('Note: this is the only time the signing secret is shown; store it with the receiver now.');
  }

  @Option({ flags: '--url <url>', description: 'where to POST (https; checked against the SSRF rules)', required: true })
  parseUrl(value: string): string {
    return value;
  }

  @Option({
    flags: '--event-type <type>',
    description: 'key.created, key.rotated, key.updated, key.revoked, key.expired, key.leaked or key.expiring (repeatable)',
  })
  parseEventType(value: string, previous?: string[]): string[] {
    return collect(value, previous);
  }

  @Option({ flags: '--tenant <tenantId>', description: "the tenant whose keys it hears of; omitted: platform-wide (every tenant's)" })
  parseTenant(value: string): string {
    return value;
  }
}
