/**
 * `npm run bench:replica-memory` (runs node with --expose-gc):
 *  1. memory per active key: V8 heap before and after applying 100k realistic rows to a KeyReplica
 *     (1,000 tenants, 1–4 scopes, 0–3 tags, real HMAC hashes), rows generated and dropped in
 *     batches as load() does, so only what the replica keeps is counted;
 *  2. start-up load: 1M rows inserted into api_keys of a dedicated database with one
 *     INSERT … SELECT generate_series, then KeyReplica.load() timed from a fresh pg Pool.
 *
 * Env: BENCH_KEYS (part 1, default 100000), BENCH_LOAD_ROWS (part 2, default 1000000),
 * DATABASE_URL / DATA_DIR (default ./.data/bench, embedded PostgreSQL on port 54339).
 * Results go to stdout, progress to stderr.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Pool } from 'pg';
import { KeyReplica, type ReplicaRow } from '@keyledger/nestjs';
import { backendCpuSeconds } from './support/backend-cpu.js';
import { envSeconds, fmt, machineLine, progressFor, settledHeap, verdict } from './support/bench-env.js';
import { describeServer, openDedicatedDatabase } from './support/dedicated-database.js';
import { ReplicaRowFactory, memoryOnlyReplica } from './support/replica-rows.js';

const TARGET_BYTES_PER_KEY = 512;
const TARGET_LOAD_SECONDS = 10;
const TENANTS = 1_000;
const BATCH = 5_000;
const DATABASE = 'keyledger_bench_replica_memory';
const LOAD_APPLICATION = 'keyledger-bench-replica-load';

const progress = progressFor('bench:replica-memory');

interface MemoryResult {
  keys: number;
  heapBytes: number;
  externalBytes: number;
  rssBytes: number;
  floorHeapBytes: number;
  /** Added by verifying every key once (its principal, built on first use). */
  usedHeapBytes: number;
}

/** Heap growth while `add` takes `keys` rows, generated and dropped in batches as load() does. */
async function heapGrowth(
  keys: number,
  factory: ReplicaRowFactory,
  add: (row: ReplicaRow) => void,
): Promise<{ heap: number; external: number; rss: number }> {
  const before = await settledHeap();
  for (let done = 0; done < keys; done += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, keys - done) }, () => factory.next().row);
    for (const row of rows) add(row);
  }
  const after = await settledHeap();
  return { heap: after.heapUsed - before.heapUsed, external: after.external - before.external, rss: after.rss - before.rss };
}

/** Runs the code paths once outside the measured windows; the warm-up replica is garbage on return. */
function warmUp(factory: ReplicaRowFactory, pepper: Buffer): void {
  const warm = memoryOnlyReplica(pepper);
  for (let i = 0; i < BATCH; i++) warm.apply(factory.next().row);
}

/** Part 1: what 100k keys cost in the replica, next to the floor of a bare Map<publicId, hash string>. */
async function measureMemory(keys: number, pepper: Buffer): Promise<MemoryResult> {
  const factory = new ReplicaRowFactory(pepper, TENANTS);
  warmUp(factory, pepper);

  // The floor first (V8 may collect a structure as soon as nothing uses it any more): only the
  // publicId → 32-byte digest mapping that verification cannot do without.
  const floor = new Map<string, string>();
  const floorGrowth = await heapGrowth(keys, factory, (row) =>
    floor.set(row.public_id, Buffer.from(row.secret_hash, 'hex').toString('latin1')),
  );
  if (floor.size !== keys) throw new Error('floor map size mismatch');
  floor.clear();

  const replica = memoryOnlyReplica(pepper);
  const growth = await heapGrowth(keys, factory, (row) => replica.apply(row));
  if (replica.size !== keys) throw new Error(`the replica holds ${replica.size} keys, expected ${keys}`);
  progress(`replica: ${fmt(growth.heap / keys, 1)} heap bytes per key`);

  // A key's principal (what the guard hands to handlers) is built on its first verification:
  // verify every key of a second replica once and count what that adds.
  const used = memoryOnlyReplica(pepper);
  const tokens: string[] = [];
  for (let i = 0; i < keys; i++) {
    const { row, token } = factory.next();
    used.apply(row);
    tokens.push(token);
  }
  const beforeUse = await settledHeap();
  for (const token of tokens) if (used.verify(token).code !== 'VALID') throw new Error('a generated key did not verify');
  const afterUse = await settledHeap();
  // Both replicas stay reachable until here, so neither is collected inside the other's window.
  if (replica.size !== keys || used.size !== keys) throw new Error('replica size mismatch');
  progress(`after one verification of each key: ${fmt((afterUse.heapUsed - beforeUse.heapUsed) / keys, 1)} more heap bytes per key`);

  return {
    keys,
    heapBytes: growth.heap,
    usedHeapBytes: afterUse.heapUsed - beforeUse.heapUsed,
    externalBytes: growth.external,
    rssBytes: growth.rss,
    floorHeapBytes: floorGrowth.heap,
  };
}

/**
 * api_keys rows with realistic sizes: UUID tenant ids (1,000 tenants), 12-char publicIds, 1–4
 * scopes, 0–3 tags, SHA-256 digests (bytea), 60 % with an expiry, 5 % rotated (previous hash + grace).
 */
const INSERT_SQL = `
INSERT INTO api_keys (key_id, public_id, tenant_id, name, scopes, tags, status, secret_hash, previous_secret_hash,
                      grace_ends_at, expires_at, status_reason, created_at, updated_at, version, last_position, last_transaction_id)
SELECT gen_random_uuid(),
       substr(md5(i::text), 1, 4) || lpad(to_hex(i), 8, '0'),
       md5('tenant-' || (i % ${TENANTS}))::uuid::text,
       'service key ' || i,
       (ARRAY['customers:read','customers:write','invoices:read','invoices:write','keys:manage','keys:read','orders:read',
              'orders:write','payments:read','payments:write','reports:read','webhooks:manage'])[1 + i % 9 : 1 + i % 9 + i % 4],
       CASE i % 4
         WHEN 0 THEN '{}'::jsonb
         WHEN 1 THEN jsonb_build_object('env', (ARRAY['production','staging','development'])[1 + i % 3])
         WHEN 2 THEN jsonb_build_object('env', 'production', 'team', (ARRAY['payments','checkout','billing','growth','platform'])[1 + i % 5])
         ELSE jsonb_build_object('env', 'production', 'region', (ARRAY['eu-west-1','us-east-1','ap-southeast-1'])[1 + i % 3],
                                 'service', 'service-' || lpad((i % 25)::text, 2, '0'))
       END,
       'active',
       sha256(convert_to('secret-' || i, 'UTF8')),
       CASE WHEN i % 20 = 0 THEN sha256(convert_to('previous-' || i, 'UTF8')) END,
       CASE WHEN i % 20 = 0 THEN now() + interval '1 day' END,
       CASE WHEN i % 10 < 6 THEN now() + (1 + i % 365) * interval '1 day' END,
       NULL,
       now() - ($1::int - i) * interval '1 minute',
       now() - ($1::int - i) * interval '1 minute',
       CASE WHEN i % 20 = 0 THEN 2 ELSE 1 END,
       i,
       pg_current_xact_id()
FROM generate_series(1, $1::int) AS i`;

interface LoadResult {
  rows: number;
  insertSeconds: number;
  vacuumSeconds: number;
  loadSeconds: number;
  /** CPU this process used during the load (pg protocol and type parsing, apply, GC). */
  nodeCpuSeconds: number;
  /** CPU the PostgreSQL backend used, when the server is local. */
  serverCpuSeconds: number | undefined;
  heapBytesPerKey: number;
  server: string;
  embedded: boolean;
  tableSize: string;
}

/** Part 2: 1M rows in PostgreSQL, then the start-up load from a fresh pool. */
async function measureLoad(rows: number, pepper: Buffer): Promise<LoadResult> {
  const database = await openDedicatedDatabase(DATABASE, progress);
  try {
    const server = await describeServer(database.url);
    const admin = new Pool({ connectionString: database.url, max: 1, application_name: 'keyledger-bench' });
    let insertSeconds: number;
    let vacuumSeconds: number;
    let tableSize: string;
    try {
      progress(`inserting ${fmt(rows)} rows into api_keys (one INSERT … SELECT generate_series)`);
      let t = performance.now();
      // Indexes and key constraints are built once afterwards, from their own definitions, rather
      // than row by row: the same schema in the end, in a fraction of the time.
      const { rows: constraints } = await admin.query<{ name: string; def: string }>(
        `SELECT conname AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint
          WHERE conrelid = 'api_keys'::regclass AND contype IN ('p', 'u')`,
      );
      const { rows: indexes } = await admin.query<{ name: string; def: string }>(
        `SELECT indexrelid::regclass::text AS name, pg_get_indexdef(indexrelid) AS def FROM pg_index
          WHERE indrelid = 'api_keys'::regclass
            AND indexrelid NOT IN (SELECT conindid FROM pg_constraint WHERE conrelid = 'api_keys'::regclass)`,
      );
      for (const index of indexes) await admin.query(`DROP INDEX ${index.name}`);
      for (const constraint of constraints) await admin.query(`ALTER TABLE api_keys DROP CONSTRAINT ${constraint.name}`);
      const inserted = await admin.query(INSERT_SQL, [rows]);
      for (const constraint of constraints) await admin.query(`ALTER TABLE api_keys ADD CONSTRAINT ${constraint.name} ${constraint.def}`);
      for (const index of indexes) await admin.query(index.def);
      insertSeconds = (performance.now() - t) / 1000;
      if (inserted.rowCount !== rows) throw new Error(`inserted ${inserted.rowCount} rows, expected ${rows}`);
      progress(
        `inserted and indexed in ${fmt(insertSeconds, 1)} s; VACUUM ANALYZE (a long-lived table is vacuumed; a fresh bulk load is not)`,
      );
      t = performance.now();
      await admin.query('VACUUM (ANALYZE) api_keys');
      vacuumSeconds = (performance.now() - t) / 1000;
      await admin.query('CHECKPOINT').catch(() => undefined);
      const size = await admin.query<{ size: string }>(`SELECT pg_size_pretty(pg_total_relation_size('api_keys')) AS size`);
      tableSize = size.rows[0].size;
    } finally {
      await admin.end();
    }

    const before = await settledHeap();
    // A fresh pool, as KeyVerifier creates at start-up: connecting is part of the load.
    const pool = new Pool({ connectionString: database.url, max: 3, application_name: LOAD_APPLICATION });
    const replica = new KeyReplica(pool, pepper);
    let loaded: number;
    let loadSeconds: number;
    let nodeCpuSeconds: number;
    let serverCpuSeconds: number | undefined;
    try {
      progress('timing KeyReplica.load() from a fresh pool');
      const cpu = process.cpuUsage();
      const t = performance.now();
      loaded = await replica.load(200_000, (n) => progress(`loaded ${fmt(n)} keys after ${fmt((performance.now() - t) / 1000, 1)} s`));
      loadSeconds = (performance.now() - t) / 1000;
      const used = process.cpuUsage(cpu);
      nodeCpuSeconds = (used.user + used.system) / 1e6;
      serverCpuSeconds = await backendCpuSeconds(pool, LOAD_APPLICATION);
    } finally {
      await pool.end();
    }
    if (loaded !== rows || replica.size !== rows) throw new Error(`loaded ${loaded} rows (${replica.size} keys), expected ${rows}`);
    const after = await settledHeap();
    return {
      rows,
      insertSeconds,
      vacuumSeconds,
      loadSeconds,
      nodeCpuSeconds,
      serverCpuSeconds,
      heapBytesPerKey: (after.heapUsed - before.heapUsed) / rows,
      server,
      embedded: database.embedded,
      tableSize,
    };
  } finally {
    progress('shutting down');
    await database.stop();
  }
}

async function main(): Promise<void> {
  if (typeof gc !== 'function') throw new Error('run with node --expose-gc (npm run bench:replica-memory does)');
  const keys = Math.round(envSeconds('BENCH_KEYS', 100_000, 1_000));
  const loadRows = Math.round(envSeconds('BENCH_LOAD_ROWS', 1_000_000, 1_000));
  const pepper = Buffer.from(randomBytes(32).toString('base64url'), 'utf8');

  progress(`part 1: applying ${fmt(keys)} rows to a replica`);
  const memory = await measureMemory(keys, pepper);
  progress(`part 2: ${fmt(loadRows)} rows from PostgreSQL`);
  const load = await measureLoad(loadRows, pepper);

  const loadedPerKey = memory.heapBytes / memory.keys;
  // The verdict counts a key that has been used: loaded, plus its principal.
  const perKey = loadedPerKey + memory.usedHeapBytes / memory.keys;
  const memoryPass = perKey <= TARGET_BYTES_PER_KEY;
  // The real load must leave no more per key than the memory test's apply does (a COPY field kept
  // as a slice of its chunk once pinned every chunk: +230 bytes a key).
  const loadPass = load.loadSeconds <= TARGET_LOAD_SECONDS && load.heapBytesPerKey <= TARGET_BYTES_PER_KEY;
  const lines = [
    `keyledger replica memory and start-up benchmark: ${machineLine()}; ${load.embedded ? 'embedded' : 'external'} ${load.server}`,
    '',
    `1. memory per active key, ${fmt(memory.keys)} keys (${TENANTS} tenants, 1–4 of 12 scopes, 0–3 tags, 5 % rotated, 60 % expiring):`,
    `   V8 heap        ${fmt(loadedPerKey, 1).padStart(7)} bytes/key as loaded (${fmt(memory.heapBytes / 2 ** 20, 1)} MiB)`,
    `   once verified  ${fmt(perKey, 1).padStart(7)} bytes/key (+${fmt(memory.usedHeapBytes / memory.keys, 1)}: the principal, built on the key's first verification)`,
    `   off-heap       ${fmt(memory.externalBytes / memory.keys, 1).padStart(7)} bytes/key (external + array buffers)`,
    `   RSS growth     ${fmt(memory.rssBytes / memory.keys, 1).padStart(7)} bytes/key (includes heap headroom the GC keeps)`,
    `   floor          ${fmt(memory.floorHeapBytes / memory.keys, 1).padStart(7)} bytes/key (a bare Map of publicId → 32-char digest string)`,
    `   VERDICT: ${verdict(memoryPass)}: ${fmt(perKey, 1)} bytes per active key once verified (target ≤ ${TARGET_BYTES_PER_KEY})`,
    '',
    `2. start-up load of ${fmt(load.rows)} keys from PostgreSQL (api_keys ${load.tableSize}; insert + index builds ${fmt(load.insertSeconds, 1)} s, VACUUM ANALYZE ${fmt(load.vacuumSeconds, 1)} s):`,
    `   KeyReplica.load() ${fmt(load.loadSeconds, 2)} s from a fresh pg Pool, ${fmt(load.rows / load.loadSeconds)} keys/s, one COPY; heap ${fmt(load.heapBytesPerKey, 1)} bytes/key after`,
    `   CPU during the load: this process ${fmt(load.nodeCpuSeconds, 1)} s (${fmt((load.nodeCpuSeconds * 1e6) / load.rows, 1)} µs/key: COPY, row split, apply, GC),` +
      ` PostgreSQL backend ${load.serverCpuSeconds === undefined ? 'n/a (not a local server)' : `${fmt(load.serverCpuSeconds, 1)} s`}`,
    `   VERDICT: ${verdict(loadPass)}: load took ${fmt(load.loadSeconds, 2)} s (target ≤ ${TARGET_LOAD_SECONDS} s) and left ${fmt(load.heapBytesPerKey, 1)} bytes/key (≤ ${TARGET_BYTES_PER_KEY})`,
    '',
    `VERDICT: ${verdict(memoryPass && loadPass)}: memory ${verdict(memoryPass)}, start-up load ${verdict(loadPass)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
