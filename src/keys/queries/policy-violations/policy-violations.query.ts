import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';

export interface PolicyViolations {
  /** Active keys that break their tenant's effective policy now. */
  total: number;
  /** The first `limit` of them (by tenant, then creation). */
  keys: {
    id: string;
    publicId: string;
    tenantId: string;
    name: string;
    breaches: { rule: string; limit: unknown; got: unknown }[];
  }[];
  truncated: boolean;
}

/**
 * The stored keys that break the effective policy of `tenantId` (null: of every tenant, each under
 * its own): reported, never changed.
 */
export class PolicyViolationsQuery extends Query<PolicyViolations> {
  constructor(
    readonly actor: Actor,
    readonly tenantId: string | null,
    readonly limit = 1000,
  ) {
    super();
  }
}
