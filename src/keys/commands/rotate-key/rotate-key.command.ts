import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export interface RotatedKey {
  view: KeyView;
  /** The new plaintext key, shown once. */
  token: string;
}

export class RotateKeyCommand extends Command<RotatedKey> {
  constructor(
    readonly id: string,
    readonly input: { gracePeriodSeconds?: number; expiresAt?: Date | null },
    readonly ctx: CommandContext,
  ) {
    super();
  }
}
