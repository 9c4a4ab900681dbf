import { cliCommandContext } from '../cli-actor.js';
import { inFlagTerms } from '../errors.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { collect, writeErr, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderKey } from './key-output.js';
import { expiryAt, parseExpiry, parseTags } from './key-options.js';

const CREATE_FLAGS = { tenantId: '--tenant', name: '--name', scopes: '--scope', tags: '--tag', expiresAt: '--expires' };

interface CreateOptions {
  tenant: string;
  name: string;
  scope?: string[];
  tag?: string[];
  expires?: string;
  expiresIn?: string;
}

@SubCommand({ name: 'create', description: 'Issue a key: prints the plaintext key (this once only), then its id' })
export class CreateKeyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run(_params: string[], options: CreateOptions): Promise<void> {
    const tags = parseTags(options.tag);
    const expiry = parseExpiry(options);
    const bus = await this.registry.commandBus();
    const { CreateKeyCommand } = await import('../../keys/index.js');
    const input = { tenantId: options.tenant, name: options.name, scopes: options.scope, tags, expiresAt: expiryAt(expiry, new Date()) };
    const created = await inFlagTerms(bus.execute(new CreateKeyCommand(input, cliCommandContext())), CREATE_FLAGS);
    if (this.json) {
      writeJson({ ...created.view, key: created.token });
      return;
    }
    // The key first and alone on its line (`| head -1` gets it), never in a log line.
    writeOut(created.token ?? '');
    writeOut(renderKey(created.view, new Date()));
    writeErr('Note: this is the only time the key is shown; store it now.');
  }

  @Option({ flags: '--tenant <tenantId>', description: 'the tenant the key belongs to (required)', required: true })
  parseTenant(value: string): string {
    return value;
  }

  @Option({ flags: '--name <name>', description: 'a name people recognise (required)', required: true })
  parseName(value: string): string {
    return value;
  }

  @Option({ flags: '--scope <scope>', description: 'a scope such as invoices:read (repeatable)' })
  parseScope(value: string, previous?: string[]): string[] {
    return collect(value, previous);
  }

  @Option({ flags: '--tag <key=value>', description: 'a key-bound tag the guard injects (repeatable)' })
  parseTag(value: string, previous?: string[]): string[] {
    return collect(value, previous);
  }

  @Option({ flags: '--expires <iso>', description: 'expiry instant, ISO 8601 (e.g. 2027-01-01T00:00:00Z)' })
  parseExpires(value: string): string {
    return value;
  }

  @Option({ flags: '--expires-in <duration>', description: 'expiry from now: 30d, 24h, 15m, 1h30m' })
  parseExpiresIn(value: string): string {
    return value;
  }
}
