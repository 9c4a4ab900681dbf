import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { InactivityEvidence, KeyExpiryReason } from '../../domain/events/key-expired.event.js';
import type { KeyView } from '../../key-view.js';
import type { ReasonCode } from '../../domain/reason-code.js';

/**
 * `manual`: an admin expires the key now (the record stays). `ttl`: the sweeper, after expiresAt.
 * `inactive`: the sweeper, for a key unused past its tenant's inactiveAfterDays, with `evidence`.
 */
export class ExpireKeyCommand extends Command<KeyView> {
  constructor(
    readonly id: string,
    readonly reason: KeyExpiryReason,
    readonly ctx: CommandContext,
    /** Defaults to `unused` for an inactive expiry, `other` otherwise. */
    readonly reasonCode?: ReasonCode,
    readonly evidence?: InactivityEvidence,
  ) {
    super();
  }
}
