import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';
import type { RevokeDetails } from '../../domain/api-key.aggregate.js';

export class RevokeKeyCommand extends Command<KeyView> {
  constructor(
    readonly id: string,
    readonly reason: string | null,
    readonly ctx: CommandContext,
    /** The reason code (default `other`) and, for a leak, where the secret was found. */
    readonly details: RevokeDetails = {},
  ) {
    super();
  }
}
