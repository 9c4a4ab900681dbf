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
const INITIAL_CAPACITY = 1024;
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
 * One UTC day's uses since the last flush, one slot per key, in flat arrays indexed by slot (no
 * object per key). The replica's entry keeps its key's slot (UsageKey.usageSlot), so a use reads
 * that and touches one cache line: `slots` holds, side by side, the slot's keyId (which checks the
 * kept slot), the client of the newest authenticated use, that use's time (ms since the day began:
 * a small integer, stored unboxed like the count) and the valid count. A key without a slot in this
 * batch finds it in an open-addressing table from keyId to slot (keyIds are random UUIDs, so a few
 * of their characters hash them). The tenant (an index into the batch's tenants) is read only at
 * the flush. bench:usage measures the bytes per key used, growth slack included, against the 64 B
 * budget. Refusals of known keys are rare and counted in a Map of their own.
 */
class UsageBatch {
  readonly dayEnds: number;
  readonly day: string;
  private readonly dayStart: number;
  size = 0;
  private capacity = INITIAL_CAPACITY;
  /** slot + 1 per entry (0: empty); twice the capacity, so at most half full. */
  private table = new Int32Array(INITIAL_CAPACITY * 2);
  /** [keyId, client, time of the newest authenticated use (valid or insufficient scope) in ms since dayStart or NO_USE, valid count] per slot. */
  private slots: (string | Client | number | undefined)[] = new Array<undefined>(INITIAL_CAPACITY * SLOT).fill(undefined);
  private tenantOf = new Uint32Array(INITIAL_CAPACITY);
  private readonly tenants: string[] = [];
  private readonly tenantIndex = new Map<string, number>();
  /** slot * 4 + outcome → count, for the outcomes other than valid. */
  private readonly refused = new Map<number, number>();

  constructor(now: number) {
    this.dayStart = now - (now % DAY_MS);
    this.dayEnds = this.dayStart + DAY_MS;
    this.day = new Date(this.dayStart).toISOString().slice(0, 10);
  }

  record(key: UsageKey, outcome: Outcome, at: number, ip: string | undefined, userAgent: string | undefined, clients: ClientCache): void {
    let slot = key.usageSlot;
    // The key's own slot when it holds the same keyId string (one pointer compare); else looked up and kept on the key.
    if (slot >>> 0 >= this.size || this.slots[slot * SLOT] !== key.keyId) key.usageSlot = slot = this.slotOf(key.keyId, key.tenantId);
    const s = slot * SLOT;
    if (outcome === VALID) this.slots[s + 3] = (this.slots[s + 3] as number) + 1;
    else this.refused.set(slot * 4 + outcome, (this.refused.get(slot * 4 + outcome) ?? 0) + 1);
    const time = at - this.dayStart;
    if (outcome <= INSUFFICIENT_SCOPE && time >= (this.slots[s + 2] as number)) {
      this.slots[s + 2] = time;
      // Mostly the key's client of its previous use: kept without a look-up.
      const held = this.slots[s + 1] as Client | undefined;
      if (held === undefined || held.ip !== ip || held.userAgent !== userAgent) this.slots[s + 1] = clients.of(ip, userAgent);
    }
  }

  private keyIdOf(slot: number): string {
    return this.slots[slot * SLOT] as string;
  }

  private slotOf(keyId: string, tenantId: string): number {
    const mask = this.table.length - 1;
    let i = sampleHash(keyId) & mask;
    for (;;) {
      const entry = this.table[i];
      if (entry === 0) break;
      if (this.slots[(entry - 1) * SLOT] === keyId) return entry - 1;
      i = (i + 1) & mask;
    }
    // A key's first use in this batch.
    if (this.size === this.capacity) {
      this.grow();
      return this.slotOf(keyId, tenantId);
    }
    const slot = this.size++;
    this.table[i] = slot + 1;
    this.slots[slot * SLOT] = keyId;
    this.slots[slot * SLOT + 2] = NO_USE;
    this.slots[slot * SLOT + 3] = 0;
    let tenant = this.tenantIndex.get(tenantId);
    if (tenant === undefined) {
      tenant = this.tenants.push(tenantId) - 1;
      this.tenantIndex.set(tenantId, tenant);
    }
    this.tenantOf[slot] = tenant;
    return slot;
  }

  /** Doubles every array and rebuilds the table. */
  private grow(): void {
    this.capacity *= 2;
    const tenantOf = new Uint32Array(this.capacity);
    tenantOf.set(this.tenantOf);
    this.tenantOf = tenantOf;
    this.slots = this.slots.concat(new Array<undefined>((this.capacity / 2) * SLOT).fill(undefined));
    this.table = new Int32Array(this.capacity * 2);
    const mask = this.table.length - 1;
    for (let slot = 0; slot < this.size; slot++) {
      let i = sampleHash(this.keyIdOf(slot)) & mask;
      while (this.table[i] !== 0) i = (i + 1) & mask;
      this.table[i] = slot + 1;
    }
  }

  /** Adds `other`'s uses (a later batch of the same day) to this one: newest use wins, counts add. */
  merge(other: UsageBatch): void {
    for (let from = 0; from < other.size; from++) {
      const s = this.slotOf(other.keyIdOf(from), other.tenants[other.tenantOf[from]]) * SLOT;
      const f = from * SLOT;
      this.slots[s + 3] = (this.slots[s + 3] as number) + (other.slots[f + 3] as number);
      const time = other.slots[f + 2] as number;
      if (time > NO_USE && time >= (this.slots[s + 2] as number)) {
        this.slots[s + 2] = time;
        this.slots[s + 1] = other.slots[f + 1];
      }
    }
    for (const [index, count] of other.refused) {
      const from = index >> 2;
      const key = this.slotOf(other.keyIdOf(from), other.tenants[other.tenantOf[from]]) * 4 + (index & 3);
      this.refused.set(key, (this.refused.get(key) ?? 0) + count);
    }
  }

  /** Appends this batch's rows to the flush's column arrays. */
  writeTo(rows: FlushRows): void {
    for (let slot = 0; slot < this.size; slot++) {
      const s = slot * SLOT;
      const keyId = this.slots[s] as string;
      const time = this.slots[s + 2] as number;
      if (time > NO_USE) rows.used(keyId, this.dayStart + time, this.slots[s + 1] as Client | undefined);
      const valid = this.slots[s + 3] as number;
      if (valid > 0) rows.count(keyId, this.tenants[this.tenantOf[slot]], this.day, 'valid', valid);
    }
    for (const [index, count] of this.refused) {
      const slot = index >> 2;
      rows.count(this.keyIdOf(slot), this.tenants[this.tenantOf[slot]], this.day, USAGE_OUTCOMES[index & 3], count);
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
