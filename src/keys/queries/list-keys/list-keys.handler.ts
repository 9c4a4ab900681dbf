import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { type CursorValues, decodeCursor, encodeCursor } from '../../../common/index.js';
import { PG_POOL } from '../../../database/index.js';
import { UUID } from '../../key-repository.js';
import { KEYS_WITH_LAST_USE } from '../keys-with-last-use.js';
import { KEY_VIEW_COLUMNS, keyViewFromRow, type KeyRow } from '../../key-view.js';
import { readableTenant } from '../../tenant-access.js';
import { ListKeysQuery, type KeyPage, type KeySort, type KeyStatusFilter } from './list-keys.query.js';

// $1 is now: an active key past its expiresAt is listed as expired even before the sweeper runs.
const STATUS_SQL: Record<KeyStatusFilter, string> = {
  active: `status = 'active' AND (expires_at IS NULL OR expires_at > $1)`,
  expired: `(status = 'expired' OR (status = 'active' AND expires_at <= $1))`,
  revoked: `status = 'revoked'`,
  all: 'true',
};

/** A never-used key sorts after every used one: its last use counts as -infinity (also in the cursor). */
const NEVER = '-infinity';
const isTime = (v: string | number): boolean => typeof v === 'string' && (v === NEVER || !Number.isNaN(Date.parse(v)));
const isKeysCursor = (v: CursorValues): v is [string, string] =>
  v.length === 2 && isTime(v[0]) && typeof v[1] === 'string' && UUID.test(v[1]);

/** Each sort: its keyset's first column and cursor kind. Ties, and the rest, go by key_id. */
const SORTS: Record<KeySort, { column: string; kind: string; value: (row: KeyRow) => string }> = {
  createdAt: { column: 'created_at', kind: 'keys', value: (row) => row.created_at.toISOString() },
  lastUsedAt: {
    column: `coalesce(u.last_used_at, '${NEVER}'::timestamptz)`,
    kind: 'keys-by-last-use',
    value: (row) => row.last_used_at?.toISOString() ?? NEVER,
  },
};

/** Keyset pagination, newest first (created or last used): stable under concurrent inserts, no OFFSET scans. */
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
    if (filter.unusedSince !== undefined) {
      // Never used counts as unused.
      params.push(filter.unusedSince);
      where.push(`(u.last_used_at IS NULL OR u.last_used_at < $${params.length}::timestamptz)`);
    }
    const sort = SORTS[filter.sort];
    if (filter.cursor) {
      const [after, keyId] = decodeCursor(filter.cursor, sort.kind, 'desc', isKeysCursor);
      params.push(after, keyId);
      where.push(`(${sort.column}, key_id) < ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    params.push(filter.limit + 1);
    const { rows } = await this.pool.query<KeyRow>(
      `SELECT ${KEY_VIEW_COLUMNS} FROM ${KEYS_WITH_LAST_USE} WHERE ${where.join(' AND ')}
       ORDER BY ${sort.column} DESC, key_id DESC LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: page.map((row) => keyViewFromRow(row, now)),
      nextCursor: rows.length > filter.limit ? encodeCursor(sort.kind, 'desc', [sort.value(last), last.key_id]) : null,
    };
  }
}
