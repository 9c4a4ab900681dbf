import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';

/**
 * GitHub's secret-scanning labels: `true_positive` is a token of one of our keys (whatever its
 * status now), `false_positive` anything else, another tenant's key included for a tenant manager.
 */
export type LeakVerdict =
  | { readonly label: 'false_positive' }
  | {
      readonly label: 'true_positive';
      readonly keyId: string;
      readonly publicId: string;
      /** Whether this report revoked the key; false when it was revoked or expired already, or the secret was rotated out. */
      readonly revoked: boolean;
    };

/** Where the token was found: the revocation's free-text reason and, where known, its URL. */
export interface LeakSource {
  readonly reason: string;
  readonly sourceUrl?: string;
}

/** A plaintext token someone found exposed: a key it still opens is revoked with reason code `leaked`. */
export class ReportLeakCommand extends Command<LeakVerdict> {
  constructor(
    readonly token: string,
    readonly source: LeakSource,
    readonly ctx: CommandContext,
  ) {
    super();
  }
}
