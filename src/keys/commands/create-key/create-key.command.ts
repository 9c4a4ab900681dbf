import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { KeyView } from '../../key-view.js';

export interface CreatedKey {
  view: KeyView;
  /** The plaintext key: present once, in the first response; null on an idempotent replay. */
  token: string | null;
  replayed: boolean;
}

export class CreateKeyCommand extends Command<CreatedKey> {
  constructor(
    readonly input: {
      tenantId: string;
      name: string;
      scopes?: string[];
      tags?: Record<string, string>;
      expiresAt?: Date | null;
    },
    readonly ctx: CommandContext,
    /** A retry with the same key (from the same caller) returns the first key, never a second. */
    readonly idempotencyKey?: string,
  ) {
    super();
  }
}
