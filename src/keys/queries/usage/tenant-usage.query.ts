import { Query } from '@nestjs/cqrs';
import type { Actor } from '../../command-context.js';
import type { UsageDay } from './usage-days.js';

export interface TenantUsage {
  /** null: every tenant (a platform admin who named none). */
  tenantId: string | null;
  days: number;
  items: UsageDay[];
}

/** Verifications per UTC day and outcome over a tenant's keys (or every tenant's), the last `days` days. */
export class TenantUsageQuery extends Query<TenantUsage> {
  constructor(
    readonly actor: Actor,
    readonly tenantId: string | undefined,
    readonly days: number,
  ) {
    super();
  }
}
