import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import { assertPolicyTenant } from '../../policy/key-policy.js';
import { PolicyStore } from '../../policy/policy-store.js';
import { policyView, type PolicyView } from '../../policy/policy-view.js';
import { readableTenant } from '../../tenant-access.js';
import { GetPolicyQuery } from './get-policy.query.js';

/** Anyone who manages keys reads the platform default; a tenant's policy, its own managers and admins. */
@QueryHandler(GetPolicyQuery)
export class GetPolicyHandler implements IQueryHandler<GetPolicyQuery> {
  constructor(private readonly policies: PolicyStore) {}

  async execute({ actor, tenantId }: GetPolicyQuery): Promise<PolicyView> {
    assertPolicyTenant(tenantId);
    if (tenantId !== null) readableTenant(actor, tenantId);
    return policyView(tenantId, await this.policies.levels(tenantId));
  }
}
