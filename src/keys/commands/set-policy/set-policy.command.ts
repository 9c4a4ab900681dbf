import { Command } from '@nestjs/cqrs';
import type { CommandContext } from '../../command-context.js';
import type { PolicySetting } from '../../policy/key-policy.js';
import type { PolicyView } from '../../policy/policy-view.js';

/** Replaces a tenant's policy (`tenantId` null: the platform default) with `settings`; missing ones are not set. */
export class SetPolicyCommand extends Command<PolicyView> {
  constructor(
    readonly tenantId: string | null,
    readonly settings: Partial<Record<PolicySetting, unknown>>,
    readonly ctx: CommandContext,
    /** From If-Match: the version the client last saw; a mismatch is a 412. */
    readonly expectedVersion?: number,
  ) {
    super();
  }
}
