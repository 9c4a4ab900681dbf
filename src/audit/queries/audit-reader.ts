import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { type CursorValues, decodeCursor, encodeCursor, isPosition, type Order } from '../../common/index.js';
import { PG_POOL } from '../../database/index.js';
import type { Actor } from '../../keys/index.js';
import { AUDIT_COLUMNS, auditWhere, bindParams, toAuditEntry, type AuditEntry, type AuditFilter, type AuditRow } from './audit-filter.js';

export interface AuditPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

export interface AuditDigest {
  /** Global position of the last event in the chain (0: empty). */
  position: number;
  /** How many events the chain covers. */
  events: number;
  chainHash: string;
  at: string;
  /** `<position>:<chainHash>`, to store outside the system and pass to /admin/audit/verify?fromDigest= */
  digest: string;
}

const isSeq = (v: CursorValues): v is [number] => v.length === 1 && isPosition(v[0]);

@Injectable()
export class AuditReader {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  /**
   * In chain order (`asc`) or newest first (`desc`). The cursor holds the last row's chain sequence
   * number: rows are only ever appended at the end, so pages never overlap or skip under writes
   * (an `asc` walk reaches rows appended while it reads).
   */
  async search(actor: Actor, filter: AuditFilter, limit: number, cursor?: string, order: Order = 'desc'): Promise<AuditPage> {
    const params: unknown[] = [];
    let where = auditWhere(actor, filter, bindParams(params));
    if (cursor !== undefined) {
      params.push(decodeCursor(cursor, 'audit', order, isSeq)[0]);
      where += ` AND seq ${order === 'asc' ? '>' : '<'} $${params.length}`;
    }
    params.push(limit + 1);
    const { rows } = await this.pool.query<AuditRow>(
      `SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE ${where} ORDER BY seq ${order === 'asc' ? 'ASC' : 'DESC'} LIMIT $${params.length}`,
      params,
    );
    const page = rows.slice(0, limit).map(toAuditEntry);
    return { items: page, nextCursor: rows.length > limit ? encodeCursor('audit', order, [page[page.length - 1].seq]) : null };
  }

  /**
   * Every matching row, newest first, one at a time, read a page at a time (constant memory; the
   * CLI's table and JSON output). Exports are a COPY instead: AuditExporter.
   */
  async *stream(actor: Actor, filter: AuditFilter, batchSize = 1000): AsyncGenerator<AuditEntry> {
    let cursor: string | undefined;
    do {
      const page = await this.search(actor, filter, batchSize, cursor);
      yield* page.items;
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
  }

  async digest(): Promise<AuditDigest> {
    const { rows } = await this.pool.query<{ seq: number; position: number; chain_hash: Buffer }>(
      'SELECT seq, position, chain_hash FROM audit_log ORDER BY seq DESC LIMIT 1',
    );
    const head = rows[0];
    const chainHash = head ? head.chain_hash.toString('hex') : '0'.repeat(64);
    const position = Number(head?.position ?? 0);
    return { position, events: Number(head?.seq ?? 0), chainHash, at: new Date().toISOString(), digest: `${position}:${chainHash}` };
  }
}
