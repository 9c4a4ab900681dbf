import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export class RevokeKeyCommand extends Command<KeyView> {
  constructor(
    readonly id: string,
    readonly reason: string | null,
    readonly ctx: CommandContext,
  ) {
    super();
  }
}
