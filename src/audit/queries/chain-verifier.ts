import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { ValidationError } from '../../common/index.js';
import { PG_POOL } from '../../database/index.js';
import { EventStore, START, type Checkpoint } from '../../event-store/index.js';
import { KeyTimeline } from '../../keys/index.js';
import { canonicalJson, GENESIS, nextChainHash } from '../audit-chain.js';
import { AuditRows, type DerivedAuditRow } from '../projections/audit-log.projection.js';
import { AUDIT_COLUMNS, type AuditRow } from './audit-filter.js';

export interface ChainMismatch {
  position: number;
  reason: string;
}

export interface VerifyResult {
  ok: boolean;
  checkedEvents: number;
  headPosition: number;
  chainHash: string;
  firstMismatch?: ChainMismatch;
  digest?: { position: number; chainHash: string; matches: boolean };
}

export function parseDigest(raw: string): { position: number; chainHash: string } {
  const match = /^(\d{1,18}):([0-9a-f]{64})$/.exec(raw.trim());
  if (!match) throw ValidationError.field('fromDigest', 'must be "<position>:<chainHash>" as returned by /admin/audit/digest');
  return { position: Number(match[1]), chainHash: match[2] };
}

const ALTERED = 'the event differs from what the audit chain recorded (altered)';

/** An audit row as stored, read as the query API reads it (times in UTC to the millisecond, the hash in hex), and its stream. */
type StoredRow = AuditRow & { stream_id: string };

const STORED_ROWS = `SELECT ${AUDIT_COLUMNS}, stream_id FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`;

/** Every column, as StoredRow reads it back: what the projection derives from the event. */
function derivedColumns(r: DerivedAuditRow): Record<Exclude<keyof StoredRow, 'changes'>, string | null> & { changes: string } {
  const occurred = new Date(r.occurredAt);
  return {
    seq: String(r.seq),
    position: String(r.position),
    recorded_at: r.recordedAt.toISOString(),
    occurred_at: Number.isNaN(occurred.getTime()) ? String(r.occurredAt) : occurred.toISOString(),
    event_type: r.eventType,
    stream_id: r.streamId,
    key_id: r.keyId,
    public_id: r.publicId,
    tenant_id: r.tenantId,
    actor_type: r.actorType,
    actor_id: r.actorId,
    actor_public_id: r.actorPublicId,
    actor_name: r.actorName,
    request_id: r.requestId,
    ip: r.ip,
    user_agent: r.userAgent,
    reason: r.reason,
    reason_code: r.reasonCode,
    changes: canonicalJson(r.changes),
    chain_hash: r.chainHash.toString('hex'),
  };
}

/** The columns of a stored row, other than chain_hash, that differ from the row its event gives. */
function editedColumns(stored: StoredRow, derived: DerivedAuditRow): string[] {
  const edited: string[] = [];
  for (const [column, value] of Object.entries(derivedColumns(derived))) {
    if (column === 'chain_hash') continue; // compared first: a different hash means the event was altered
    const actual = column === 'changes' ? canonicalJson(stored.changes) : stored[column as keyof StoredRow];
    if ((typeof actual === 'number' ? String(actual) : actual) !== value) edited.push(column);
  }
  return edited;
}

/**
 * Recomputes the hash chain from the events table, in the same (transaction_id, position) order
 * the audit projection used, and walks it beside the audit rows: an edited event changes every
 * hash from it on, a deleted or reordered one breaks the position sequence. Each row's other
 * columns (actor, request, IP, reason, changes, identity, times) are derived again from its event
 * with the projection's own code (AuditRows) and compared, so an edited audit row is found at its
 * position too. A digest kept outside the system also catches a rewrite of both tables.
 * Holds every key's state in memory for the walk, as a rebuild does (about 230 bytes per key).
 */
@Injectable()
export class ChainVerifier {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  async verify(fromDigest?: string, onProgress?: (checked: number) => void): Promise<VerifyResult> {
    const digest = fromDigest === undefined ? undefined : parseDigest(fromDigest);
    let chain: Buffer = GENESIS;
    let checked = 0;
    let headPosition = 0;
    let after: Checkpoint = START;
    let seq = 0;
    let digestMatches: boolean | undefined;
    const result = (firstMismatch?: ChainMismatch): VerifyResult => ({
      ok: firstMismatch === undefined && digestMatches !== false,
      checkedEvents: checked,
      headPosition,
      chainHash: chain.toString('hex'),
      ...(firstMismatch ? { firstMismatch } : {}),
      ...(digest ? { digest: { ...digest, matches: digestMatches ?? false } } : {}),
    });
    const done = (): VerifyResult => {
      if (digest?.position === 0) digestMatches = digest.chainHash === GENESIS.toString('hex');
      if (digest && digestMatches === undefined) {
        return result({ position: digest.position, reason: 'the digest names a position the verified chain does not contain' });
      }
      return result();
    };

    const derive = new AuditRows(0, GENESIS, new KeyTimeline());
    for (;;) {
      const events = await this.store.readAll(after, 2000);
      if (events.length === 0) break;
      const { rows } = await this.pool.query<StoredRow>(STORED_ROWS, [seq, events.length]);
      for (const [i, event] of events.entries()) {
        const row = rows[i];
        if (row === undefined) return done(); // the projection has not got this far yet
        if (Number(row.position) !== event.position) return result(await this.sequenceMismatch(Number(row.position), event.position));
        let derived: DerivedAuditRow;
        try {
          derived = derive.next(event);
        } catch (error) {
          // An altered event is named as such, whether or not the projection could still read it.
          if (nextChainHash(chain, event).toString('hex') !== row.chain_hash) return result({ position: event.position, reason: ALTERED });
          return result({
            position: event.position,
            reason: `the audit row cannot be derived from its event: ${error instanceof Error ? error.message : String(error)}`,
          });
        }
        if (derived.chainHash.toString('hex') !== row.chain_hash) return result({ position: event.position, reason: ALTERED });
        const edited = editedColumns(row, derived);
        if (edited.length > 0) {
          return result({ position: event.position, reason: `the audit row differs from its event in ${edited.join(', ')} (edited)` });
        }
        chain = derived.chainHash;
        checked++;
        seq = derived.seq;
        headPosition = event.position;
        if (digest && event.position === digest.position) digestMatches = chain.toString('hex') === digest.chainHash;
      }
      onProgress?.(checked);
      const last = events[events.length - 1];
      after = { transactionId: last.transactionId, position: last.position };
    }
    // Audit rows beyond the last event: their events were removed.
    const extra = await this.pool.query<{ position: number }>('SELECT position FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1', [seq]);
    if (extra.rows[0]) {
      return result({ position: extra.rows[0].position, reason: 'the audit log has an event the event store no longer has (deleted)' });
    }
    return done();
  }

  /**
   * The audit row at this point of the chain names `recorded`, the event store has `found` there.
   * Chain order is (transaction_id, position), not position order, so the smaller of the two is not
   * necessarily the culprit: name the event that was removed (or moved away), else the one that was
   * added, else (both exist: reordered) the place where the recorded order breaks.
   */
  private async sequenceMismatch(recorded: number, found: number): Promise<ChainMismatch> {
    const { rows } = await this.pool.query<{ recorded_in_store: boolean; found_in_audit: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM events WHERE global_position = $1) AS recorded_in_store,
              EXISTS (SELECT 1 FROM audit_log WHERE position = $2) AS found_in_audit`,
      [recorded, found],
    );
    if (!rows[0].recorded_in_store) {
      return {
        position: recorded,
        reason: 'an event the audit chain recorded is missing from the event store (deleted, or its position changed)',
      };
    }
    if (!rows[0].found_in_audit) {
      return { position: found, reason: 'the event store has an event the audit chain never recorded (inserted)' };
    }
    return { position: recorded, reason: 'the events are out of the order the audit chain recorded (reordered)' };
  }
}
