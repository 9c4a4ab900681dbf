import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';
import type { ReasonCode } from '../../domain/reason-code.js';

/** `manual`: an admin expires the key now (the record stays). `ttl`: the sweeper, after expiresAt. */
export class ExpireKeyCommand extends Command<KeyView> {
  constructor(
    readonly id: string,
    readonly reason: 'manual' | 'ttl',
    readonly ctx: CommandContext,
    /** Defaults to `other`. */
    readonly reasonCode?: ReasonCode,
  ) {
    super();
  }
}
