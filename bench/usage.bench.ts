/**
 * `npm run bench:usage` (runs node with --expose-gc): key usage recording (#18, ADR 0006).
 *  1. memory: V8 heap and ArrayBuffer memory (typed arrays live outside the heap) added by recording one use of each of 100k distinct keys (key ids and
 *     tenants already held, as the replica holds them; each use's IP and user agent a new string,
 *     as a request brings them, from 1,000 client IPs and 20 user agents);
 *  2. the hot path: ns per record() over those keys;
 *  3. the flush: the one statement that writes those 100k keys' last use and daily counts into a
 *     dedicated database, timed twice: the first flush inserts every row, the second (newer uses of
 *     the same keys, the steady state) updates them;
 *  4. the floor, in the same run and database: the same rows upserted into the same (emptied)
 *     tables by the same statement shape from temporary tables already filled on the server, so
 *     nothing is sent, parsed or built in Node: what PostgreSQL itself needs for the writes.
 *
 * Env: BENCH_KEYS (default 100000), DATABASE_URL / DATA_DIR (default ./.data/bench, embedded
 * PostgreSQL on port 54339). Results go to stdout, progress to stderr.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool, type PoolClient } from 'pg';
import { KeyVerifier } from '@keyledger/nestjs';
import { envSeconds, fmt, machineLine, progressFor, settledHeap, verdict } from './support/bench-env.js';
import { describeServer, openDedicatedDatabase } from './support/dedicated-database.js';
import { flat } from './support/replica-rows.js';

const TARGET_BYTES_PER_KEY = 64;
const TARGET_FLUSH_SECONDS = 1;
const TENANTS = 1_000;
const CLIENT_IPS = 1_000;
const USER_AGENTS = 20;
const DATABASE = 'keyledger_bench_usage';

const progress = progressFor('bench:usage');

/** A verifier whose pool points at `databaseUrl` (connected only when it flushes): its recorder is the one under test. */
function recorderOn(databaseUrl: string): { verifier: KeyVerifier; usage: Usage } {
  const verifier = new KeyVerifier({ databaseUrl }, undefined);
  if (verifier.usage === undefined) throw new Error('usage recording is off');
  return { verifier, usage: verifier.usage };
}

type Usage = NonNullable<KeyVerifier['usage']>;
/** A key as the replica's entry hands it to the recorder. */
type UsageKey = Parameters<Usage['record']>[0];

interface Keys {
  keys: UsageKey[];
  ips: string[];
  agents: string[];
}

function makeKeys(count: number): Keys {
  const tenants = Array.from({ length: TENANTS }, () => flat(randomUUID()));
  const ips = Array.from({ length: CLIENT_IPS }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const agents = Array.from({ length: USER_AGENTS }, (_, i) => `service-${i}/2.${i}.0 (node-fetch; +https://example.com/bot) Node.js/20`);
  return {
    keys: Array.from({ length: count }, (_, i) => ({ keyId: flat(randomUUID()), tenantId: tenants[i % TENANTS], usageSlot: -1 })),
    ips,
    agents,
  };
}

/** One use of every key, each with a fresh IP and user-agent string, as requests bring them. */
function useAll(usage: Usage, keys: Keys, at: number): void {
  for (let i = 0; i < keys.keys.length; i++) {
    const ip = flat(keys.ips[(i * 7919) % CLIENT_IPS]);
    const agent = flat(keys.agents[i % USER_AGENTS]);
    usage.record(keys.keys[i], i % 50 === 0 ? 3 : 0, at, ip, agent); // 2 % revoked, the rest valid
  }
}

/** The flush's writes from rows the server already holds (temporary tables of this session). */
const FLOOR_SQL = `
  WITH used AS (
    INSERT INTO key_last_use (key_id, last_used_at, ip, user_agent)
    SELECT key_id, last_used_at, ip, user_agent FROM floor_used
    ON CONFLICT (key_id) DO UPDATE
      SET last_used_at = excluded.last_used_at, ip = excluded.ip, user_agent = excluded.user_agent
      WHERE key_last_use.last_used_at < excluded.last_used_at
  )
  INSERT INTO key_usage_daily AS d (key_id, tenant_id, day, outcome, count)
  SELECT key_id, tenant_id, day, outcome, count FROM floor_counts
  ON CONFLICT (key_id, day, outcome) DO UPDATE SET count = d.count + excluded.count`;

/**
 * The floor: copies what the flushes stored into temporary tables, empties the real ones, then
 * times FLOOR_SQL inserting every row and again updating them with newer times (as the flushes did).
 */
async function timeFloor(client: PoolClient): Promise<{ insert: number; update: number }> {
  await client.query('CREATE TEMP TABLE floor_used AS SELECT * FROM key_last_use');
  await client.query('CREATE TEMP TABLE floor_counts AS SELECT * FROM key_usage_daily');
  await client.query('ANALYZE floor_used, floor_counts');
  await client.query('TRUNCATE key_last_use, key_usage_daily');
  const timed = async (): Promise<number> => {
    const t0 = performance.now();
    await client.query(FLOOR_SQL);
    return (performance.now() - t0) / 1000;
  };
  const insert = await timed();
  await client.query(`UPDATE floor_used SET last_used_at = last_used_at + interval '1 second'`);
  const update = await timed();
  return { insert, update };
}

async function main(): Promise<void> {
  const count = Math.round(envSeconds('BENCH_KEYS', 100_000, 1));
  const keys = makeKeys(count);

  // 1. Memory. A warm-up recorder first, so the code and its shapes exist before the window.
  useAll(recorderOn('postgres://unused/none').usage, makeKeys(5_000), Date.now());
  const { usage: measured } = recorderOn('postgres://unused/none');
  const heldBytes = (usage: NodeJS.MemoryUsage): number => usage.heapUsed + usage.arrayBuffers;
  const before = heldBytes(await settledHeap());
  useAll(measured, keys, Date.now());
  const after = heldBytes(await settledHeap());
  if (measured.pendingKeys !== count) throw new Error(`recorded ${measured.pendingKeys} keys, expected ${count}`);
  const bytesPerKey = (after - before) / count;
  progress(`memory: ${fmt(bytesPerKey, 1)} bytes (heap and ArrayBuffers) per key used`);

  // 2. The hot path: record() on keys already in the interval (the common case) and on new ones.
  const uses = count * 20;
  const hotIp = flat(keys.ips[0]);
  const hotAgent = flat(keys.agents[0]);
  let started = performance.now();
  const now = Date.now();
  for (let n = 0; n < uses; n++) measured.record(keys.keys[n % count], 0, now + n, hotIp, hotAgent);
  const recordNs = ((performance.now() - started) * 1e6) / uses;
  const fresh = recorderOn('postgres://unused/none').usage;
  started = performance.now();
  for (let n = 0; n < count; n++) fresh.record(keys.keys[n], 0, now, hotIp, hotAgent);
  const firstRecordNs = ((performance.now() - started) * 1e6) / count;
  progress(
    `record(): ${fmt(recordNs, 1)} ns per use of a key already recorded, ${fmt(firstRecordNs, 1)} ns for a key's first use in an interval`,
  );

  // 3. The flush, into a database of its own.
  const database = await openDedicatedDatabase(DATABASE, progress);
  const pool = new Pool({ connectionString: database.url });
  try {
    const server = await describeServer(database.url);
    const { verifier, usage } = recorderOn(database.url);
    const timeFlush = async (at: number): Promise<number> => {
      useAll(usage, keys, at);
      const t0 = performance.now();
      await usage.flush();
      return (performance.now() - t0) / 1000;
    };
    // One key of its own first: the pool connects outside the measured window.
    usage.record({ keyId: randomUUID(), tenantId: 'warm-up', usageSlot: -1 }, 0, Date.now(), undefined, undefined);
    await usage.flush();
    const insertSeconds = await timeFlush(Date.now());
    const updateSeconds = await timeFlush(Date.now() + 1000);
    await verifier.onApplicationShutdown();
    const stored = await pool.query<{ used: string; valid: string }>(
      `SELECT (SELECT count(*) FROM key_last_use)::text AS used, (SELECT coalesce(sum(count), 0) FROM key_usage_daily WHERE outcome = 'valid')::text AS valid`,
    );
    const usedKeys = count - Math.ceil(count / 50) + 1; // the revoked ones have no last use; the warm-up key has
    const expectedValid = 2 * (usedKeys - 1) + 1;
    if (Number(stored.rows[0].used) !== usedKeys || Number(stored.rows[0].valid) !== expectedValid) {
      throw new Error(
        `the flushes stored ${JSON.stringify(stored.rows[0])}, expected ${usedKeys} last uses and ${expectedValid} valid uses`,
      );
    }
    const floorClient = await pool.connect();
    const floor = await timeFloor(floorClient).finally(() => floorClient.release());
    const flushSeconds = Math.max(insertSeconds, updateSeconds);
    const lines = [
      `keyledger usage benchmark: ${machineLine()}`,
      `database: ${server}`,
      `${fmt(count)} distinct keys used in one interval (${TENANTS} tenants, ${CLIENT_IPS} client IPs, ${USER_AGENTS} user agents; 2 % of keys refused as revoked)`,
      '',
      `memory added per key used: ${fmt(bytesPerKey, 1)} B (V8 heap and ArrayBuffers, after GC)`,
      `record(): ${fmt(recordNs, 1)} ns per use (key already in the interval), ${fmt(firstRecordNs, 1)} ns (first use in the interval)`,
      `flush (one statement, both tables): ${fmt(insertSeconds, 3)} s inserting ${fmt(count)} keys' rows, ${fmt(updateSeconds, 3)} s updating them`,
      `floor (the same writes from rows already on the server): ${fmt(floor.insert, 3)} s inserting, ${fmt(floor.update, 3)} s updating; flush/floor ${fmt(insertSeconds / floor.insert, 2)}× and ${fmt(updateSeconds / floor.update, 2)}×`,
      '',
      `VERDICT: ${verdict(bytesPerKey <= TARGET_BYTES_PER_KEY)}: ${fmt(bytesPerKey, 1)} B per active key (target ≤ ${TARGET_BYTES_PER_KEY} B)`,
      `VERDICT: ${verdict(flushSeconds <= TARGET_FLUSH_SECONDS)}: ${fmt(count)} keys flushed in ${fmt(flushSeconds, 3)} s at worst (target ≤ ${TARGET_FLUSH_SECONDS} s)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await pool.end();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
