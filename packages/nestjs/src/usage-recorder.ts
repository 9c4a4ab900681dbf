import type { Logger } from '@nestjs/common';
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
/** Entries of the cache that makes equal clients (IP and user agent) share one object (a power of two). */
const CLIENT_CACHE = 16_384;

/**
 * A key as the recorder is given it: the replica's entry, which also keeps the key's slot in the
 * batch it was last recorded into, so that a use finds its slot without hashing the keyId again.
 */
export interface UsageKey {
  readonly keyId: string;
  readonly tenantId: string;
  /** A hint, checked against the batch (a new batch reuses slot numbers for other keys); -1 before any use. */
  usageSlot: number;
}

/** Where a use came from. Shared by every key and use with the same IP and user agent (UsageRecorder.clientOf). */
interface Client {
  readonly ip: string | undefined;
  readonly userAgent: string | undefined;
}

/**
 * Each request brings its user agent (and, on a new connection, its IP) as a new string: a slot
 * holding them per key would cost an object and two strings per key. An equal client is looked up
 * in this direct-mapped cache (indexed by a sample of both texts, no hash of the whole text) and
 * the one already held is kept instead: keys used by the same clients share one.
 */
class ClientCache {
  private readonly entries: (Client | undefined)[] = new Array<Client | undefined>(CLIENT_CACHE).fill(undefined);

  of(ip: string | undefined, userAgent: string | undefined): Client | undefined {
    if (ip === undefined && userAgent === undefined) return undefined;
    const i =
      ((ip === undefined ? 0 : sampleHash(ip)) ^ (userAgent === undefined ? 0 : Math.imul(sampleHash(userAgent), 31))) & (CLIENT_CACHE - 1);
    const held = this.entries[i];
    if (held !== undefined && held.ip === ip && held.userAgent === userAgent) return held;
    return (this.entries[i] = { ip, userAgent });
  }
}

/** Up to 8 characters, spread over the text, FNV-1a mixed: cheap, and enough to tell UUIDs, IPs and user agents apart. */
function sampleHash(text: string): number {
  const n = text.length;
  const step = n > 8 ? n >> 3 : 1;
  let h = 0x811c9dc5 ^ n;
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h;
}

/** A slot's time before its key's first authenticated use: below any time of the day, and a small integer. */
const NO_USE = -1_000_000_000;
/** Array elements per slot in UsageBatch.slots. */
const SLOT = 4;

/**
 * One UTC day's uses since the last flush, one slot per key, side by side in one array (no object
 * per key): the key (the replica's entry), the client of its newest authenticated use, that use's
 * time (ms since the day began: a small integer, stored unboxed like the count) and the valid
 * count. The entry keeps its slot (UsageKey.usageSlot), so a use checks that the slot holds that
 * very entry and touches one cache line: no hash, no look-up table. An entry without a slot here
 * (a key's first use in the interval, or an entry the replica replaced after the key changed)
 * gets a new one, so one key can hold two slots: they are folded together by keyId at the flush
 * (and when a failed flush's batch is merged), off the hot path. Refusals of known keys are rare
 * and counted in a Map of their own. bench:usage measures the bytes per key used, growth slack
 * included, against the 64 B budget.
 */
class UsageBatch {
  readonly dayEnds: number;
  readonly day: string;
  private readonly dayStart: number;
  size = 0;
  /** [key, client, time of the newest authenticated use (valid or insufficient scope) in ms since dayStart or NO_USE, valid count] per slot. */
  private readonly slots: (UsageKey | Client | number | undefined)[] = [];
  /** slot * 4 + outcome → count, for the outcomes other than valid. */
  private readonly refused = new Map<number, number>();

  constructor(now: number) {
    this.dayStart = now - (now % DAY_MS);
    this.dayEnds = this.dayStart + DAY_MS;
    this.day = new Date(this.dayStart).toISOString().slice(0, 10);
  }

  record(key: UsageKey, outcome: Outcome, at: number, ip: string | undefined, userAgent: string | undefined, clients: ClientCache): void {
    let slot = key.usageSlot;
    // The slot the entry kept, when it still holds that entry (a new batch reuses slot numbers); else a new one.
    if (slot >>> 0 >= this.size || this.slots[slot * SLOT] !== key) key.usageSlot = slot = this.add(key);
    const s = slot * SLOT;
    if (outcome === VALID) this.slots[s + 3] = (this.slots[s + 3] as number) + 1;
    else this.refused.set(slot * 4 + outcome, (this.refused.get(slot * 4 + outcome) ?? 0) + 1);
    // An int32 (a use falls within the batch's day, or a moment before it), so it is stored unboxed: no HeapNumber per use.
    const time = (at - this.dayStart) | 0;
    if (outcome <= INSUFFICIENT_SCOPE && time >= (this.slots[s + 2] as number)) {
      this.slots[s + 2] = time;
      // Mostly the key's client of its previous use: kept without a look-up.
      const held = this.slots[s + 1] as Client | undefined;
      if (held === undefined || held.ip !== ip || held.userAgent !== userAgent) this.slots[s + 1] = clients.of(ip, userAgent);
    }
  }

  private add(key: UsageKey): number {
    this.slots.push(key, undefined, NO_USE, 0);
    return this.size++;
  }

  private keyOf(slot: number): UsageKey {
    return this.slots[slot * SLOT] as UsageKey;
  }

  /** Adds `other`'s slot `from` (of the same day) into this batch's `slot`: newest use wins, counts add. */
  private fold(slot: number, other: UsageBatch, from: number): void {
    const s = slot * SLOT;
    const f = from * SLOT;
    this.slots[s + 3] = (this.slots[s + 3] as number) + (other.slots[f + 3] as number);
    const time = other.slots[f + 2] as number;
    if (time > NO_USE && time >= (this.slots[s + 2] as number)) {
      this.slots[s + 2] = time;
      this.slots[s + 1] = other.slots[f + 1];
    }
    for (let outcome = 1; outcome < 4; outcome++) {
      const count = other.refused.get(from * 4 + outcome);
      if (count !== undefined) this.refused.set(slot * 4 + outcome, (this.refused.get(slot * 4 + outcome) ?? 0) + count);
    }
  }

  /** Folds the slots of a key that holds more than one into its first; returns keyId → that slot. */
  private dedupe(): Map<string, number> {
    const slotOf = new Map<string, number>();
    for (let slot = 0; slot < this.size; slot++) {
      const keyId = this.keyOf(slot).keyId;
      const first = slotOf.get(keyId);
      if (first === undefined) {
        slotOf.set(keyId, slot);
        continue;
      }
      this.fold(first, this, slot);
      // Emptied, so that a later fold does not count it twice; its entry may still record into it.
      this.slots[slot * SLOT + 1] = undefined;
      this.slots[slot * SLOT + 2] = NO_USE;
      this.slots[slot * SLOT + 3] = 0;
      for (let outcome = 1; outcome < 4; outcome++) this.refused.delete(slot * 4 + outcome);
    }
    return slotOf;
  }

  /** Adds `other`'s uses (a failed flush's batch of the same day) to this one: one slot per key, which its entry keeps. */
  merge(other: UsageBatch): void {
    const slotOf = this.dedupe();
    for (let from = 0; from < other.size; from++) {
      const key = other.keyOf(from);
      let slot = slotOf.get(key.keyId);
      if (slot === undefined) slotOf.set(key.keyId, (key.usageSlot = slot = this.add(key)));
      this.fold(slot, other, from);
    }
  }

  /** Appends this batch's rows to the flush's column arrays, one per key (one statement may upsert a row only once). */
  writeTo(rows: FlushRows): void {
    for (const slot of this.dedupe().values()) {
      const s = slot * SLOT;
      const { keyId, tenantId } = this.keyOf(slot);
      const time = this.slots[s + 2] as number;
      if (time > NO_USE) rows.used(keyId, this.dayStart + time, this.slots[s + 1] as Client | undefined);
      const valid = this.slots[s + 3] as number;
      if (valid > 0) rows.count(keyId, tenantId, this.day, 'valid', valid);
    }
    for (const [index, count] of this.refused) {
      const { keyId, tenantId } = this.keyOf(index >> 2);
      rows.count(keyId, tenantId, this.day, USAGE_OUTCOMES[index & 3], count);
    }
  }
}

function textOrNull(text: string | undefined, maxLength: number): string | null {
  return text === undefined || text === '' ? null : storableText(text, maxLength);
}

/** A PostgreSQL array literal of values that need no quotes (uuids, numbers, dates, outcome codes). */
function plainArray(values: readonly (string | number)[]): string {
  return `{${values.join(',')}}`;
}

const ARRAY_ESCAPE = /["\\]/g;

/** A PostgreSQL array literal of texts: each quoted, `"` and `\` escaped; null as NULL. */
function textArray(values: readonly (string | null)[]): string {
  return `{${values.map((v) => (v === null ? 'NULL' : `"${v.replace(ARRAY_ESCAPE, '\\$&')}"`)).join(',')}}`;
}

/**
 * The flush's statement parameters: one array per column, sent to unnest as array literals built
 * here (node-postgres would escape every uuid and number one by one). Clients and tenants repeat
 * across keys: each distinct one is sent (and made storable) once, and rows carry its number.
 */
class FlushRows {
  readonly usedKeys: string[] = [];
  readonly usedAt: number[] = [];
  /** 1-based number of the use's client in clientIps/clientAgents; 0: none. */
  readonly usedClients: number[] = [];
  readonly clientIps: (string | null)[] = [];
  readonly clientAgents: (string | null)[] = [];
  private readonly clientNumbers = new Map<Client, number>();
  readonly countKeys: string[] = [];
  /** 1-based number of the row's tenant in tenants. */
  readonly countTenants: number[] = [];
  readonly tenants: string[] = [];
  private readonly tenantNumbers = new Map<string, number>();
  readonly countDays: string[] = [];
  readonly countOutcomes: string[] = [];
  readonly counts: number[] = [];

  /**
   * Set when more than one day's batch is written (across a UTC midnight, or after failed flushes):
   * a key then has one last use per day, and one statement may upsert a row only once.
   */
  private readonly usedRow: Map<string, number> | undefined;

  constructor(batches: number) {
    this.usedRow = batches > 1 ? new Map() : undefined;
  }

  used(keyId: string, at: number, client: Client | undefined): void {
    const row = this.usedRow?.get(keyId);
    if (row !== undefined && this.usedAt[row] >= at) return;
    const number = this.clientNumber(client);
    if (row !== undefined) {
      this.usedAt[row] = at;
      this.usedClients[row] = number;
      return;
    }
    this.usedRow?.set(keyId, this.usedKeys.length);
    this.usedKeys.push(keyId);
    this.usedAt.push(at);
    this.usedClients.push(number);
  }

  private clientNumber(client: Client | undefined): number {
    if (client === undefined) return 0;
    let number = this.clientNumbers.get(client);
    if (number === undefined) {
      number = this.clientIps.push(textOrNull(client.ip, MAX_IP_LENGTH));
      this.clientAgents.push(textOrNull(client.userAgent, MAX_USER_AGENT_LENGTH));
      this.clientNumbers.set(client, number);
    }
    return number;
  }

  count(keyId: string, tenantId: string, day: string, outcome: UsageOutcome, count: number): void {
    let tenant = this.tenantNumbers.get(tenantId);
    if (tenant === undefined) {
      tenant = this.tenants.push(tenantId);
      this.tenantNumbers.set(tenantId, tenant);
    }
    this.countKeys.push(keyId);
    this.countTenants.push(tenant);
    this.countDays.push(day);
    this.countOutcomes.push(outcome);
    this.counts.push(count);
  }

  get empty(): boolean {
    return this.usedKeys.length === 0 && this.countKeys.length === 0;
  }

  /** FLUSH_SQL's parameters. */
  params(): string[] {
    return [
      plainArray(this.usedKeys),
      plainArray(this.usedAt),
      plainArray(this.usedClients),
      textArray(this.clientIps),
      textArray(this.clientAgents),
      plainArray(this.countKeys),
      plainArray(this.countTenants),
      textArray(this.tenants),
      plainArray(this.countDays),
      plainArray(this.countOutcomes),
      plainArray(this.counts),
    ];
  }
}

/**
 * One statement for both tables (a writable CTE): the last use only where it is newer than the
 * stored one, so instances flushing in any order leave the newest; daily counts added. Times go
 * as epoch milliseconds (float8) so no Date is built per key. Clients and tenants are joined in
 * by number from their short lists.
 */
const FLUSH_SQL = `
  WITH used AS (
    INSERT INTO key_last_use (key_id, last_used_at, ip, user_agent)
    SELECT u.key_id, to_timestamp(u.at_ms / 1000), c.ip, c.user_agent
      FROM unnest($1::uuid[], $2::float8[], $3::int[]) AS u(key_id, at_ms, client)
      LEFT JOIN unnest($4::text[], $5::text[]) WITH ORDINALITY AS c(ip, user_agent, client) ON c.client = u.client
    ON CONFLICT (key_id) DO UPDATE
      SET last_used_at = excluded.last_used_at, ip = excluded.ip, user_agent = excluded.user_agent
      WHERE key_last_use.last_used_at < excluded.last_used_at
  )
  INSERT INTO key_usage_daily AS d (key_id, tenant_id, day, outcome, count)
  SELECT n.key_id, t.tenant_id, n.day, n.outcome, n.count
    FROM unnest($6::uuid[], $7::int[], $9::date[], $10::text[], $11::bigint[]) AS n(key_id, tenant, day, outcome, count)
    JOIN unnest($8::text[]) WITH ORDINALITY AS t(tenant_id, tenant) ON t.tenant = n.tenant
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
  private readonly clients = new ClientCache();

  constructor(
    /** A pg Pool: only its query is used. */
    private readonly pool: { query(sql: string, params: unknown[]): Promise<unknown> },
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

  /** The hot path: the slot the key holds (or a table look-up by a sample of its keyId) and a few typed-array writes; no allocation once the key has a slot. */
  record(key: UsageKey, outcome: Outcome, at: number, ip: string | undefined, userAgent: string | undefined): void {
    if (at >= this.current.dayEnds) this.batches.push((this.current = new UsageBatch(at)));
    // A long user agent is cut now, into a string of its own (a slice would keep the whole header alive).
    if (userAgent !== undefined && userAgent.length > MAX_USER_AGENT_LENGTH) {
      userAgent = Buffer.from(userAgent.slice(0, MAX_USER_AGENT_LENGTH), 'utf16le').toString('utf16le');
    }
    this.current.record(key, outcome, at, ip, userAgent, this.clients);
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
    const rows = new FlushRows(taken.length);
    for (const batch of taken) batch.writeTo(rows);
    if (rows.empty) return;
    try {
      await this.pool.query(FLUSH_SQL, rows.params());
      this.trouble.succeeded();
    } catch (error) {
      this.trouble.failed(error);
      this.keep(taken);
      throw error;
    }
  }

  /** Puts a failed flush's batches back: each into the batch of its day recorded meanwhile, if any. */
  private keep(taken: UsageBatch[]): void {
    // Folded into the batches recorded meanwhile, not the other way: the slots the entries keep stay theirs.
    for (const batch of taken) {
      const sameDay = this.batches.find((b) => b.day === batch.day);
      if (sameDay === undefined) this.batches.push(batch);
      else sameDay.merge(batch);
    }
    this.batches.sort((a, b) => a.dayEnds - b.dayEnds);
    this.current = this.batches[this.batches.length - 1];
  }
}
