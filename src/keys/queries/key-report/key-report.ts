import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { ValidationError } from '../../../common/index.js';
import { PG_POOL } from '../../../database/index.js';
import { EventStore, type RecordedEvent } from '../../../event-store/index.js';
import type { Actor } from '../../command-context.js';
import type { KeyStatus } from '../../domain/api-key.aggregate.js';
import type { ReasonCode } from '../../domain/reason-code.js';
import { keyViewFromAggregate } from '../../key-view.js';
import { readableTenant } from '../../tenant-access.js';
import { assertInstant, replayUntil } from '../keys-as-of/keys-as-of.handler.js';

const DAY_MS = 86_400_000;
/** Keys per page: one query for their ids and last use, one for their events. */
const PAGE = 500;

/** One line of the key inventory report: a key as its events make it at `asOf`. */
export interface KeyReportLine {
  tenantId: string;
  name: string;
  keyId: string;
  publicId: string;
  scopes: string[];
  createdAt: string;
  /** Who issued it: the key.created event's actor (`api-key` and its keyId, `cli:<user>`, `system:…`). */
  createdBy: { type: string | null; id: string | null };
  /** The last rotation; null if never rotated. */
  lastRotatedAt: string | null;
  /** The newest use any instance recorded; null if never used (or, with asOf, only used after it). */
  lastUsedAt: string | null;
  expiresAt: string | null;
  status: KeyStatus;
  reason: string | null;
  reasonCode: ReasonCode | null;
  /** Whole days since the current secret was issued (its last rotation, else the key's creation). */
  secretAgeDays: number;
}

export interface KeyReportFilter {
  tenantId?: string;
  status?: KeyStatus;
  /** Only keys whose current secret was issued more than this many days before asOf. */
  secretOlderThanDays?: number;
  /** Only keys not used (never, or last used at least this many days before asOf; a key never used counts from its creation). */
  unusedForDays?: number;
}

export interface KeyReportRun {
  /** The instant the report describes: asOf, or when it was asked for. */
  at: Date;
  /** Keys to look at (created by `at`, in the caller's tenants), before the other filters: for a progress bar. */
  candidates(): Promise<number>;
  /** The report's lines, a page at a time, by tenant, then creation, then key id; `examined`: the candidates looked at so far. */
  pages(onProgress?: (examined: number) => void): AsyncGenerator<KeyReportLine[]>;
}

interface CandidateRow {
  key_id: string;
  tenant_id: string;
  created_at: Date;
  last_used_at: Date | null;
}

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function createdBy(events: readonly RecordedEvent[]): KeyReportLine['createdBy'] {
  const actor = events[0]?.metadata.actor as { type?: unknown; id?: unknown } | undefined;
  return { type: str(actor?.type), id: str(actor?.id) };
}

/**
 * The key inventory report (GET /admin/reports/keys, `keyledger keys report`). Each key is
 * replayed from its events up to `at`, exactly as GET /admin/api-keys/:id?asOf= and the
 * keys-as-of list do, so a line agrees with the key's API view at that instant; the last use comes
 * from `key_last_use` (not events: ADR 0006). Pages of PAGE keys walk api_keys by (tenant,
 * creation, id), so the report holds one page in memory however many keys there are, and holds no
 * connection between pages.
 */
@Injectable()
export class KeyReport {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  /** Checks the caller and the options (a refusal is thrown here, before any line). */
  open(actor: Actor, filter: KeyReportFilter, asOf?: Date): KeyReportRun {
    const at = asOf ?? new Date();
    assertInstant('asOf', at);
    for (const field of ['secretOlderThanDays', 'unusedForDays'] as const) {
      const days = filter[field];
      if (days !== undefined && !(Number.isSafeInteger(days) && days >= 0)) {
        throw ValidationError.field(field, 'must be a whole number of days, 0 or more');
      }
    }
    const tenantId = readableTenant(actor, filter.tenantId);
    const where = (params: unknown[]): string => {
      params.push(at);
      const clauses = [`k.created_at <= $${params.length}`];
      if (tenantId !== undefined) {
        params.push(tenantId);
        clauses.push(`k.tenant_id = $${params.length}`);
      }
      return clauses.join(' AND ');
    };
    return {
      at,
      candidates: async () => {
        const params: unknown[] = [];
        const { rows } = await this.pool.query<{ n: string }>(`SELECT count(*) AS n FROM api_keys k WHERE ${where(params)}`, params);
        return Number(rows[0].n);
      },
      pages: (onProgress) => this.pages(at, where, filter, asOf !== undefined, onProgress),
    };
  }

  private async *pages(
    at: Date,
    where: (params: unknown[]) => string,
    filter: KeyReportFilter,
    historical: boolean,
    onProgress?: (examined: number) => void,
  ): AsyncGenerator<KeyReportLine[]> {
    let after: CandidateRow | undefined;
    let examined = 0;
    for (;;) {
      const params: unknown[] = [];
      const clauses = [where(params)];
      if (after !== undefined) {
        params.push(after.tenant_id, after.created_at, after.key_id);
        clauses.push(`(k.tenant_id, k.created_at, k.key_id) > ($${params.length - 2}, $${params.length - 1}, $${params.length}::uuid)`);
      }
      params.push(PAGE);
      const { rows } = await this.pool.query<CandidateRow>(
        `SELECT k.key_id, k.tenant_id, k.created_at, u.last_used_at
         FROM api_keys k LEFT JOIN key_last_use u ON u.key_id = k.key_id
         WHERE ${clauses.join(' AND ')}
         ORDER BY k.tenant_id, k.created_at, k.key_id LIMIT $${params.length}`,
        params,
      );
      if (rows.length === 0) return;
      after = rows[rows.length - 1];
      const byStream = new Map<string, RecordedEvent[]>();
      for (const e of await this.store.readStreams(rows.map((r) => keyStreamId(r.key_id)))) {
        const list = byStream.get(e.streamId) ?? [];
        list.push(e);
        byStream.set(e.streamId, list);
      }
      const lines: KeyReportLine[] = [];
      for (const row of rows) {
        const events = byStream.get(keyStreamId(row.key_id)) ?? [];
        // The current last use; at a past asOf, only a use before it (a later one hides any earlier: null).
        const lastUsed = row.last_used_at !== null && (!historical || row.last_used_at.getTime() <= at.getTime()) ? row.last_used_at : null;
        const line = reportLine(events, at, lastUsed);
        if (line !== undefined && matches(line, filter, at)) lines.push(line);
      }
      examined += rows.length;
      onProgress?.(examined);
      yield lines;
      if (rows.length < PAGE) return;
    }
  }
}

/** A key's line at `at`; undefined if it did not exist yet (its creation is later than `at`). */
function reportLine(events: readonly RecordedEvent[], at: Date, lastUsedAt: Date | null): KeyReportLine | undefined {
  const key = replayUntil(events, at);
  if (key === undefined) return undefined;
  const view = keyViewFromAggregate(key, at);
  return {
    tenantId: view.tenantId,
    name: view.name,
    keyId: view.id,
    publicId: view.publicId,
    scopes: view.scopes,
    createdAt: view.createdAt,
    createdBy: createdBy(events),
    lastRotatedAt: key.lastRotatedAt?.toISOString() ?? null,
    lastUsedAt: lastUsedAt?.toISOString() ?? null,
    expiresAt: view.expiresAt,
    status: view.status,
    reason: view.reason,
    reasonCode: view.reasonCode,
    secretAgeDays: Math.max(0, Math.floor((at.getTime() - key.secretIssuedAt.getTime()) / DAY_MS)),
  };
}

function matches(line: KeyReportLine, filter: KeyReportFilter, at: Date): boolean {
  if (filter.status !== undefined && line.status !== filter.status) return false;
  const daysBefore = (days: number): number => at.getTime() - days * DAY_MS;
  if (filter.secretOlderThanDays !== undefined) {
    const issued = Date.parse(line.lastRotatedAt ?? line.createdAt);
    if (!(issued < daysBefore(filter.secretOlderThanDays))) return false;
  }
  if (filter.unusedForDays !== undefined && !(Date.parse(line.lastUsedAt ?? line.createdAt) <= daysBefore(filter.unusedForDays))) {
    return false;
  }
  return true;
}
