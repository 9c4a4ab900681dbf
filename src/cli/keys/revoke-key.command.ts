import { cliCommandContext } from '../cli-actor.js';
import { inFlagTerms } from '../errors.js';
import type { ReasonCode } from '../../keys/index.js';
import { parseReasonCode, REASON_CODE_HELP } from './key-options.js';
import { CliCommand, Option, SubCommand } from '../cli-command.js';
import { writeJson, writeOut } from '../output.js';
import { Registry } from '../registry.js';
import { renderKey } from './key-output.js';
import { inKeyTerms } from './key-ref.js';

@SubCommand({
  name: 'revoke',
  arguments: '<id>',
  argsDescription: { id: 'the key id (UUID) or its publicId' },
  description: 'Revoke the key: every instance refuses it within milliseconds',
})
export class RevokeKeyCliCommand extends CliCommand {
  constructor(private readonly registry: Registry) {
    super();
  }

  async run([id]: string[], options: { reason?: string; reasonCode?: ReasonCode }): Promise<void> {
    const bus = await this.registry.commandBus();
    const { RevokeKeyCommand } = await import('../../keys/index.js');
    const revoked = inFlagTerms(
      bus.execute(new RevokeKeyCommand(id, options.reason ?? null, cliCommandContext(), { reasonCode: options.reasonCode })),
      { reason: '--reason', reasonCode: '--reason-code' },
    );
    const view = await inKeyTerms(this.registry, id, revoked);
    if (this.json) writeJson(view);
    else writeOut(renderKey(view, new Date()));
  }

  @Option({ flags: '--reason <text>', description: 'why, for the audit log (e.g. "leaked in a public repository")' })
  parseReason(value: string): string {
    return value;
  }

  @Option({ flags: '--reason-code <code>', description: REASON_CODE_HELP })
  parseReasonCode(value: string): ReasonCode {
    return parseReasonCode(value);
  }
}
