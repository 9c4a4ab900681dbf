import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export class UpdateKeyCommand extends Command<KeyView> {
  constructor(
    readonly id: string,
    readonly input: { name?: string; scopes?: string[]; tags?: Record<string, string>; expiresAt?: Date | null },
    readonly ctx: CommandContext,
    /** From If-Match: the version the client last saw; a mismatch is a 412. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
