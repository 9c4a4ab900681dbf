import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { ValidationError } from '../../../common/domain-error.js';
import { PG_POOL } from '../../../database/database.tokens.js';
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

function encodeCursor(row: KeyRow): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), row.key_id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const [createdAt, keyId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof createdAt === 'string' && !Number.isNaN(Date.parse(createdAt)) && typeof keyId === 'string' && /^[0-9a-f-]{36}$/.test(keyId)) {
      return [createdAt, keyId];
    }
  } catch {
    // fall through
  }
  throw ValidationError.field('cursor', 'is not a cursor this API returned; pass nextCursor unchanged');
}

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
      const [createdAt, keyId] = decodeCursor(filter.cursor);
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
      nextCursor: rows.length > filter.limit ? encodeCursor(page[page.length - 1]) : null,
    };
  }
}
