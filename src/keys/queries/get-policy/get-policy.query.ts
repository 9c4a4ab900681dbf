import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { PolicyView } from '../../policy/policy-view.js';

/** A tenant's policy and the effective one (`tenantId` null: the platform default). */
export class GetPolicyQuery extends Query<PolicyView> {
  constructor(
    readonly actor: Actor,
    readonly tenantId: string | null,
  ) {
    super();
  }
}
