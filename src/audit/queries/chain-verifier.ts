import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { ValidationError } from '../../common/domain-error.js';
import { PG_POOL } from '../../database/database.tokens.js';
import { EventStore, START, type Checkpoint } from '../../event-store/index.js';
import { GENESIS, nextChainHash } from '../audit-chain.js';

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

/**
 * Recomputes the hash chain from the events table, in the same (transaction_id, position) order
 * the audit projection used, and walks it beside the audit rows: an edited event changes every
 * hash from it on, a deleted or reordered one breaks the position sequence. A digest kept outside
 * the system also catches a rewrite of both tables.
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

    for (;;) {
      const events = await this.store.readAll(after, 2000);
      if (events.length === 0) break;
      const { rows } = await this.pool.query<{ seq: number; position: number; chain_hash: Buffer }>(
        'SELECT seq, position, chain_hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2',
        [seq, events.length],
      );
      for (const [i, event] of events.entries()) {
        const row = rows[i];
        if (row === undefined) return done(); // the projection has not got this far yet
        if (row.position !== event.position) return result(await this.sequenceMismatch(row.position, event.position));
        chain = nextChainHash(chain, event);
        if (!chain.equals(row.chain_hash)) return result({ position: event.position, reason: 'the event differs from what the audit chain recorded (altered)' });
        checked++;
        seq = row.seq;
        headPosition = event.position;
        if (digest && event.position === digest.position) digestMatches = chain.toString('hex') === digest.chainHash;
      }
      onProgress?.(checked);
      const last = events[events.length - 1];
      after = { transactionId: last.transactionId, position: last.position };
    }
    // Audit rows beyond the last event: their events were removed.
    const extra = await this.pool.query<{ position: number }>('SELECT position FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1', [seq]);
    if (extra.rows[0]) return result({ position: extra.rows[0].position, reason: 'the audit log has an event the event store no longer has (deleted)' });
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
      return { position: recorded, reason: 'an event the audit chain recorded is missing from the event store (deleted, or its position changed)' };
    }
    if (!rows[0].found_in_audit) return { position: found, reason: 'the event store has an event the audit chain never recorded (inserted)' };
    return { position: recorded, reason: 'the events are out of the order the audit chain recorded (reordered)' };
  }
}
