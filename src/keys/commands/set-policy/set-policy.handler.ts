import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import { VersionMismatchError } from '../../../common/index.js';
import { assertConsistent, assertPolicyTenant, effectivePolicy, policyChanges, validatePolicy } from '../../policy/key-policy.js';
import { PolicyChanged } from '../../policy/policy-changed.event.js';
import { PolicyForbiddenError } from '../../policy/policy.errors.js';
import { PolicyStore } from '../../policy/policy-store.js';
import { policyView, type PolicyView } from '../../policy/policy-view.js';
import { isCrossTenant } from '../../tenant-access.js';
import { SetPolicyCommand } from './set-policy.command.js';

/**
 * Only a cross-tenant actor (an `admin` key, the CLI) sets a policy, the platform's or a tenant's:
 * the policy limits what a tenant's own managers may do, so letting them change it would let them
 * lift their own limits (docs/security.md). A change that changes nothing writes no event.
 */
@CommandHandler(SetPolicyCommand)
export class SetPolicyHandler implements ICommandHandler<SetPolicyCommand> {
  constructor(private readonly policies: PolicyStore) {}

  async execute({ tenantId, settings, ctx, expectedVersion }: SetPolicyCommand): Promise<PolicyView> {
    if (!isCrossTenant(ctx.actor)) throw PolicyForbiddenError.create();
    assertPolicyTenant(tenantId);
    const next = validatePolicy(settings);
    assertConsistent(next);
    const levels = await this.policies.levels(tenantId);
    if (levels.tenant !== null) assertConsistent(effectivePolicy(levels.platform.settings, next).settings);
    const current = levels.tenant ?? levels.platform;
    VersionMismatchError.assert('POLICY.VERSION_MISMATCH', 'The policy', expectedVersion, current.version);

    const changes = policyChanges(current.settings, next);
    if (Object.keys(changes).length === 0) return policyView(tenantId, levels);
    const event = new PolicyChanged({ tenantId, settings: next, changes, occurredAt: new Date().toISOString() });
    const version = await this.policies.append(event, current.version, ctx);
    const stored = { settings: next, version };
    return policyView(
      tenantId,
      levels.tenant === null ? { platform: stored, tenant: null } : { platform: levels.platform, tenant: stored },
    );
  }
}
