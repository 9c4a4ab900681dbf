import type { Logger } from '@nestjs/common';
import type { Pool } from 'pg';
import { RetryBackoff } from './retry-backoff.js';
import { storableText } from './storable-text.js';

/**
 * What a verification of a known key came to, as `key_usage_daily.outcome` stores it: `valid`, or
 * the refusal's code. Refusals that name no known key (malformed, unknown publicId, wrong secret)
 * are not counted per key: a publicId alone proves nothing about who sent it.
 */
export const USAGE_OUTCOMES = ['valid', 'insufficient_scope', 'expired', 'revoked'] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];
/** Index into USAGE_OUTCOMES: the hot path passes a number, not a string. */
export type Outcome = 0 | 1 | 2 | 3;
export const VALID: Outcome = 0;
export const INSUFFICIENT_SCOPE: Outcome = 1;
export const EXPIRED: Outcome = 2;
export const REVOKED: Outcome = 3;

const DAY_MS = 86_400_000;
/** Longer text is cut at the flush (a user agent can be kilobytes; the column is for people to read). */
const MAX_IP_LENGTH = 64;
const MAX_USER_AGENT_LENGTH = 256;
const INITIAL_CAPACITY = 1024;

/**
 * One UTC day's uses since the last flush, one slot per key: a Map from keyId to the slot's index
 * and flat arrays indexed by it (no object per key). The memory per key used is the Map entry,
 * 8 B of time, 4 B of valid count and three references (tenant, IP, user agent): under 64 B
 * (bench:usage measures it). Refusals of known keys are rare and counted in a Map of their own.
 */
class UsageBatch {
  readonly slots = new Map<string, number>();
  readonly dayEnds: number;
  readonly day: string;
  private tenants: string[] = [];
  private ips: (string | undefined)[] = [];
  private agents: (string | undefined)[] = [];
  /** Epoch ms of the key's newest authenticated use (valid or insufficient scope); 0: none. */
  private at = new Float64Array(INITIAL_CAPACITY);
  private valid = new Uint32Array(INITIAL_CAPACITY);
  /** slot * 4 + outcome → count, for the outcomes other than valid. */
  private readonly refused = new Map<number, number>();

  constructor(now: number) {
    const dayStart = now - (now % DAY_MS);
    this.dayEnds = dayStart + DAY_MS;
    this.day = new Date(dayStart).toISOString().slice(0, 10);
  }

  get size(): number {
    return this.slots.size;
  }

  record(keyId: string, tenantId: string, outcome: Outcome, at: number, ip: string | undefined, userAgent: string | undefined): void {
    let slot = this.slots.get(keyId);
    if (slot === undefined) slot = this.add(keyId, tenantId);
    if (outcome === VALID) this.valid[slot]++;
    else this.refused.set(slot * 4 + outcome, (this.refused.get(slot * 4 + outcome) ?? 0) + 1);
    if (outcome <= INSUFFICIENT_SCOPE && at >= this.at[slot]) {
      this.at[slot] = at;
      this.ips[slot] = ip;
      this.agents[slot] = userAgent;
    }
  }

  private add(keyId: string, tenantId: string): number {
    const slot = this.slots.size;
    if (slot === this.at.length) {
      const at = new Float64Array(slot * 2);
      at.set(this.at);
      this.at = at;
      const valid = new Uint32Array(slot * 2);
      valid.set(this.valid);
      this.valid = valid;
    }
    this.slots.set(keyId, slot);
    this.tenants[slot] = tenantId;
    this.ips[slot] = undefined;
    this.agents[slot] = undefined;
    return slot;
  }

  /** Adds `other`'s uses (a later batch of the same day) to this one: newest use wins, counts add. */
  merge(other: UsageBatch): void {
    for (const [keyId, from] of other.slots) {
      const tenantId = other.tenants[from];
      const slot = this.slots.get(keyId) ?? this.add(keyId, tenantId);
      this.valid[slot] += other.valid[from];
      if (other.at[from] >= this.at[slot] && other.at[from] > 0) {
        this.at[slot] = other.at[from];
        this.ips[slot] = other.ips[from];
        this.agents[slot] = other.agents[from];
      }
    }
    if (other.refused.size === 0) return;
    const keyIds = other.keyIdsBySlot();
    for (const [index, count] of other.refused) {
      const key = (this.slots.get(keyIds[index >> 2]) as number) * 4 + (index & 3);
      this.refused.set(key, (this.refused.get(key) ?? 0) + count);
    }
  }

  private keyIdsBySlot(): string[] {
    const keyIds: string[] = [];
    for (const [keyId, slot] of this.slots) keyIds[slot] = keyId;
    return keyIds;
  }

  /** Appends this batch's rows to the flush's column arrays. */
  writeTo(rows: FlushRows): void {
    for (const [keyId, slot] of this.slots) {
      const tenantId = this.tenants[slot];
      if (this.at[slot] > 0) {
        rows.usedKeys.push(keyId);
        rows.usedAt.push(this.at[slot]);
        rows.ips.push(textOrNull(this.ips[slot], MAX_IP_LENGTH));
        rows.agents.push(textOrNull(this.agents[slot], MAX_USER_AGENT_LENGTH));
      }
      if (this.valid[slot] > 0) rows.count(keyId, tenantId, this.day, 'valid', this.valid[slot]);
    }
    if (this.refused.size === 0) return;
    const keyIds = this.keyIdsBySlot();
    for (const [index, count] of this.refused) {
      const slot = index >> 2;
      rows.count(keyIds[slot], this.tenants[slot], this.day, USAGE_OUTCOMES[index & 3], count);
    }
  }
}

function textOrNull(text: string | undefined, maxLength: number): string | null {
  return text === undefined || text === '' ? null : storableText(text, maxLength);
}

/** The flush's statement parameters: one array per column (sent to unnest). */
class FlushRows {
  readonly usedKeys: string[] = [];
  readonly usedAt: number[] = [];
  readonly ips: (string | null)[] = [];
  readonly agents: (string | null)[] = [];
  readonly countKeys: string[] = [];
  readonly countTenants: string[] = [];
  readonly countDays: string[] = [];
  readonly countOutcomes: string[] = [];
  readonly counts: number[] = [];

  count(keyId: string, tenantId: string, day: string, outcome: UsageOutcome, count: number): void {
    this.countKeys.push(keyId);
    this.countTenants.push(tenantId);
    this.countDays.push(day);
    this.countOutcomes.push(outcome);
    this.counts.push(count);
  }

  get empty(): boolean {
    return this.usedKeys.length === 0 && this.countKeys.length === 0;
  }
}

/**
 * One statement for both tables (a writable CTE): the last use only where it is newer than the
 * stored one, so instances flushing in any order leave the newest; daily counts added. Times go
 * as epoch milliseconds (float8) so no Date is built per key.
 */
const FLUSH_SQL = `
  WITH used AS (
    INSERT INTO key_last_use (key_id, last_used_at, ip, user_agent)
    SELECT key_id, to_timestamp(at_ms / 1000), ip, user_agent
      FROM unnest($1::uuid[], $2::float8[], $3::text[], $4::text[]) AS u(key_id, at_ms, ip, user_agent)
    ON CONFLICT (key_id) DO UPDATE
      SET last_used_at = excluded.last_used_at, ip = excluded.ip, user_agent = excluded.user_agent
      WHERE key_last_use.last_used_at < excluded.last_used_at
  )
  INSERT INTO key_usage_daily AS d (key_id, tenant_id, day, outcome, count)
  SELECT * FROM unnest($5::uuid[], $6::text[], $7::date[], $8::text[], $9::bigint[])
  ON CONFLICT (key_id, day, outcome) DO UPDATE SET count = d.count + excluded.count`;

/**
 * Key usage, recorded in memory on each verification (O(1), no I/O) and written every interval in
 * one statement (docs/adr/0006-usage-data-is-not-events.md). A failed flush keeps its data and
 * merges it into the next; memory stays one slot per key and day. A crash loses at most what was
 * recorded since the last successful flush.
 */
export class UsageRecorder {
  /** Oldest first; the last is the batch being recorded into. More than one only across a UTC midnight or after a failed flush. */
  private batches: UsageBatch[] = [];
  private current: UsageBatch;
  private running: Promise<unknown> = Promise.resolve();
  private readonly trouble: RetryBackoff;
  /** The last IP and user agent seen: equal ones from the next request share the string. */
  private lastIp: string | undefined;
  private lastAgent: string | undefined;

  constructor(
    private readonly pool: Pick<Pool, 'query'>,
    logger: Logger,
  ) {
    this.current = new UsageBatch(Date.now());
    this.batches.push(this.current);
    this.trouble = new RetryBackoff(logger, 'usage flush');
  }

  /** Keys with uses not yet flushed. */
  get pendingKeys(): number {
    let n = 0;
    for (const batch of this.batches) n += batch.size;
    return n;
  }

  /** The hot path: a Map lookup and a few array writes. */
  record(keyId: string, tenantId: string, outcome: Outcome, at: number, ip: string | undefined, userAgent: string | undefined): void {
    if (at >= this.current.dayEnds) this.batches.push((this.current = new UsageBatch(at)));
    // Equal text from another request becomes the string already held, so keys used by the same clients share it.
    if (ip === this.lastIp) ip = this.lastIp;
    else this.lastIp = ip;
    if (userAgent === this.lastAgent) userAgent = this.lastAgent;
    else this.lastAgent = userAgent;
    this.current.record(keyId, tenantId, outcome, at, ip, userAgent);
  }

  /**
   * Writes every use recorded before the call (waiting for a flush already under way); rejects if
   * the database refused, in which case the uses are kept for the next flush.
   */
  flush(): Promise<void> {
    const run = this.running.then(() => this.flushOnce());
    this.running = run.catch(() => undefined);
    return run;
  }

  private async flushOnce(): Promise<void> {
    const taken = this.batches;
    this.current = new UsageBatch(Date.now());
    this.batches = [this.current];
    const rows = new FlushRows();
    for (const batch of taken) batch.writeTo(rows);
    if (rows.empty) return;
    try {
      await this.pool.query(FLUSH_SQL, [
        rows.usedKeys,
        rows.usedAt,
        rows.ips,
        rows.agents,
        rows.countKeys,
        rows.countTenants,
        rows.countDays,
        rows.countOutcomes,
        rows.counts,
      ]);
      this.trouble.succeeded();
    } catch (error) {
      this.trouble.failed(error);
      this.keep(taken);
      throw error;
    }
  }

  /** Puts a failed flush's batches back, merging what was recorded meanwhile into them by day. */
  private keep(taken: UsageBatch[]): void {
    for (const batch of this.batches) {
      const sameDay = taken.find((t) => t.day === batch.day);
      if (sameDay === undefined) taken.push(batch);
      else sameDay.merge(batch);
    }
    this.batches = taken;
    this.current = taken[taken.length - 1];
  }
}
