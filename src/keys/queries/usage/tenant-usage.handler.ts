import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '../../../database/index.js';
import { readableTenant } from '../../tenant-access.js';
import { TenantUsageQuery, type TenantUsage } from './tenant-usage.query.js';
import { firstDay, usageDays, type UsageRow } from './usage-days.js';

@QueryHandler(TenantUsageQuery)
export class TenantUsageHandler implements IQueryHandler<TenantUsageQuery> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ actor, tenantId: requested, days }: TenantUsageQuery): Promise<TenantUsage> {
    const tenantId = readableTenant(actor, requested);
    const now = new Date();
    // key_usage_daily (tenant_id, day) is indexed: no join to the keys.
    const { rows } = await this.pool.query<UsageRow>(
      `SELECT day::text AS day, outcome, sum(count)::text AS count FROM key_usage_daily
        WHERE day >= $1::date AND ($2::text IS NULL OR tenant_id = $2) GROUP BY day, outcome`,
      [firstDay(days, now), tenantId ?? null],
    );
    return { tenantId: tenantId ?? null, days, items: usageDays(days, now, rows) };
  }
}
