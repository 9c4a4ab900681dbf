import type { ReasonCode } from '../../keys/index.js';
import { inFlagTerms } from '../errors.js';
import { parseReasonCode, REASON_CODE_HELP } from './key-options.js';
import { cliCommandContext } from '../cli-actor.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderKey } from './key-output.js';
import { inKeyTerms } from './key-ref.js';

@SubCommand({
  name: 'expire',
  arguments: '<id>',
  argsDescription: { id: 'the key id (UUID) or its publicId' },
  description: 'Expire the key now (it stops working; the record stays)',
})
export class ExpireKeyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[], options: { reasonCode?: ReasonCode }): Promise<void> {
    const bus = await this.registry.commandBus();
    const { ExpireKeyCommand } = await import('../../keys/index.js');
    const expired = inFlagTerms(bus.execute(new ExpireKeyCommand(id, 'manual', cliCommandContext(), options.reasonCode)), {
      reasonCode: '--reason-code',
    });
    const view = await inKeyTerms(this.registry, id, expired);
    if (this.json) writeJson(view);
    else writeOut(renderKey(view, new Date()));
  }

  @Option({ flags: '--reason-code <code>', description: REASON_CODE_HELP })
  parseReasonCode(value: string): ReasonCode {
    return parseReasonCode(value);
  }
}
