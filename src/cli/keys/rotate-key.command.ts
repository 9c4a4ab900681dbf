import { cliCommandContext } from '../cli-actor.js';
import { inFlagTerms } from '../errors.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { writeErr, writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderKey } from './key-output.js';
import { parseGrace } from './key-options.js';
import { inKeyTerms } from './key-ref.js';

@SubCommand({
  name: 'rotate',
  arguments: '<id>',
  argsDescription: { id: 'the key id (UUID) or its publicId' },
  description: 'Roll the secret (same publicId, scopes and tags): prints the new key once; --grace keeps the old one working a while',
})
export class RotateKeyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[], options: { grace?: string }): Promise<void> {
    const gracePeriodSeconds = parseGrace(options.grace);
    const bus = await this.registry.commandBus();
    const { RotateKeyCommand } = await import('../../keys/index.js');
    const rotated = await inKeyTerms(
      this.registry,
      id,
      inFlagTerms(bus.execute(new RotateKeyCommand(id, { gracePeriodSeconds }, cliCommandContext())), { gracePeriodSeconds: '--grace' }),
    );
    if (this.json) {
      writeJson({ ...rotated.view, key: rotated.token });
      return;
    }
    writeOut(rotated.token);
    writeOut(renderKey(rotated.view, new Date()));
    writeErr('Note: this is the only time the new key is shown; store it now.');
  }

  @Option({ flags: '--grace <duration>', description: 'how long the previous secret keeps working: 24h, 7d (at most 30d; default 0)' })
  parseGrace(value: string): string {
    return value;
  }
}
