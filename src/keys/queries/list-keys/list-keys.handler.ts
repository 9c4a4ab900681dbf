import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { type CursorValues, decodeCursor, encodeCursor } from '../../../common/index.js';
import { PG_POOL } from '../../../database/index.js';
import { UUID } from '../../key-repository.js';
import { KEY_VIEW_COLUMNS, keyViewFromRow, type KeyRow } from '../../key-view.js';
import { readableTenant } from '../../tenant-access.js';
import { ListKeysQuery, type KeyPage, type KeyStatusFilter } from './list-keys.query.js';

// $1 is now: an active key past its expiresAt is listed as expired even before the sweeper runs.
const STATUS_SQL: Record<KeyStatusFilter, string> = {
  active: `status = 'active' AND (expires_at IS NULL OR expires_at > $1)`,
  expired: `(status = 'expired' OR (status = 'active' AND expires_at <= $1))`,
  revoked: `status = 'revoked'`,
  all: 'true',
};

const isKeysCursor = (v: CursorValues): v is [string, string] =>
  v.length === 2 && typeof v[0] === 'string' && !Number.isNaN(Date.parse(v[0])) && typeof v[1] === 'string' && UUID.test(v[1]);

/** Keyset pagination, newest first: stable under concurrent inserts, no OFFSET scans. */
@QueryHandler(ListKeysQuery)
export class ListKeysHandler implements IQueryHandler<ListKeysQuery> {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async execute({ actor, filter }: ListKeysQuery): Promise<KeyPage> {
    const now = new Date();
    const where = [STATUS_SQL[filter.status]];
    // Bind now only where the filter uses it: PostgreSQL cannot type an unreferenced parameter.
    const params: unknown[] = where[0].includes('$1') ? [now] : [];
    const tenantId = readableTenant(actor, filter.tenantId);
    if (tenantId !== undefined) {
      params.push(tenantId);
      where.push(`tenant_id = $${params.length}`);
    }
    if (filter.cursor) {
      const [createdAt, keyId] = decodeCursor(filter.cursor, 'keys', 'desc', isKeysCursor);
      params.push(createdAt, keyId);
      where.push(`(created_at, key_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const { rows } = await this.pool.query<KeyRow>(
      `SELECT ${KEY_VIEW_COLUMNS} FROM api_keys WHERE ${where.join(' AND ')}
       ORDER BY created_at DESC, key_id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filter.limit);
    return {
      items: page.map((row) => keyViewFromRow(row, now)),
      nextCursor: rows.length > filter.limit ? encodeCursor('keys', 'desc', [page[page.length - 1].created_at.toISOString(), page[page.length - 1].key_id]) : null,
    };
  }
}
