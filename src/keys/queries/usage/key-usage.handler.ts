import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { PG_POOL } from '../../../database/index.js';
import { KeyNotFoundError } from '../../domain/api-key.errors.js';
import { KeyRepository } from '../../key-repository.js';
import { assertCanAccessKey } from '../../tenant-access.js';
import { KeyUsageQuery, type KeyUsage } from './key-usage.query.js';
import { firstDay, usageDays, type UsageRow } from './usage-days.js';

@QueryHandler(KeyUsageQuery)
export class KeyUsageHandler implements IQueryHandler<KeyUsageQuery> {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly keys: KeyRepository,
  ) {}

  async execute({ actor, id, days }: KeyUsageQuery): Promise<KeyUsage> {
    const keyId = await this.keys.resolveKeyId(id);
    const { rows: keys } = await this.pool.query<{ tenant_id: string }>('SELECT tenant_id FROM api_keys WHERE key_id = $1', [keyId]);
    if (keys.length === 0) throw KeyNotFoundError.withId(id);
    assertCanAccessKey(actor, { tenantId: keys[0].tenant_id, keyId }, id);
    const now = new Date();
    const { rows } = await this.pool.query<UsageRow>(
      'SELECT day::text AS day, outcome, count::text AS count FROM key_usage_daily WHERE key_id = $1 AND day >= $2::date',
      [keyId, firstDay(days, now)],
    );
    return { keyId, days, items: usageDays(days, now, rows) };
  }
}
