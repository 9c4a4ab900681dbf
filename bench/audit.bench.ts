/**
 * bench:audit — issue 5's two benchmarks in one run on one generated data set:
 *  1. rebuild: N events over N/10 keys (default 1,000,000 over 100,000), then rebuild the audit
 *     projection and the active-key read model from zero, and time PostgreSQL's own share of each
 *     in the same run (the floor, bench/support/rebuild-floor.ts: read the events, load the same
 *     rows into an identical table, build its indexes). Target: each rebuild ≤ 1.5× its floor.
 *  2. queries: p50/p95 of the common audit queries at that size (by key; by tenant over 7 days;
 *     by actor). Target p95 ≤ 20 ms. Then the NDJSON export of every row, as GET
 *     /admin/audit/export streams it (AuditExporter): rows/s and the process's peak RSS.
 *     Target ≥ 100,000 rows/s with flat memory.
 * BENCH_EVENTS changes the size (e.g. 200000 for a quick run).
 */
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Pool } from 'pg';
import { AuditLogProjection } from '../src/audit/projections/audit-log.projection.js';
import { AuditReader, AuditExporter } from '../src/audit/index.js';
import { EventStore, ProjectionRunner, ProjectionsService } from '../src/event-store/index.js';
import type { Actor } from '../src/keys/index.js';
import { ActiveKeysProjection } from '../src/keys/projections/active-keys.projection.js';
import { distribution, envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { rebuildFloor, type Floor } from './support/rebuild-floor.js';
import { openDedicatedDatabase } from './support/dedicated-database.js';

const progress = progressFor('bench:audit');
const EVENTS = Math.round(envSeconds('BENCH_EVENTS', 1_000_000, 1000));
const PER_KEY = 10;
const KEYS = Math.floor(EVENTS / PER_KEY);
const TENANTS = 1000;
const ACTORS = 50;
const ADMIN: Actor = { type: 'system', id: 'bench', tenantId: null, scopes: null };

/*
 * Realistic key streams, generated inside PostgreSQL: per key a key.created, then alternating
 * key.rotated and key.updated, recorded over the last 90 days. Payloads have the shapes the
 * projections read (src/keys/domain/events).
 */
const GENERATE = `
WITH k AS (
  SELECT g AS n, md5('key' || g)::uuid AS key_id, substr(md5('pub' || g), 1, 12) AS public_id,
         't-' || (g % ${TENANTS}) AS tenant_id, now() - make_interval(secs => (g % 7776000)) AS born
  FROM generate_series($1::int, $2::int) AS g
)
INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata, recorded_at)
SELECT 'key-' || k.key_id, v,
       md5(k.key_id::text || v)::uuid,
       CASE WHEN v = 1 THEN 'key.created' WHEN v % 2 = 0 THEN 'key.rotated' ELSE 'key.updated' END,
       1,
       CASE
         WHEN v = 1 THEN jsonb_build_object('keyId', k.key_id, 'publicId', k.public_id, 'prefix', 'kl_live', 'tenantId', k.tenant_id,
                'name', 'service key ' || k.n, 'scopes', jsonb_build_array('invoices:read', 'reports:read'),
                'tags', jsonb_build_object('plan', 'pro', 'region', 'eu'), 'expiresAt', null,
                'secretHash', encode(sha256(('s' || k.n)::bytea), 'hex'), 'occurredAt', to_char(k.born AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         WHEN v % 2 = 0 THEN jsonb_build_object('secretHash', encode(sha256(('s' || k.n || v)::bytea), 'hex'),
                'previousSecretHash', encode(sha256(('s' || k.n || (v - 1))::bytea), 'hex'), 'graceEndsAt', null, 'expiresAt', null,
                'occurredAt', to_char((k.born + make_interval(mins => v)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         ELSE jsonb_build_object('changes', jsonb_build_object('name', jsonb_build_object('from', 'service key ' || k.n, 'to', 'service key ' || k.n || ' v' || v)),
                'occurredAt', to_char((k.born + make_interval(mins => v)) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
       END,
       jsonb_build_object('actor', jsonb_build_object('type', 'api-key', 'id', 'actor-' || ((k.n + v) % ${ACTORS})),
                          'requestId', md5('r' || k.n || v), 'ip', '10.0.0.1', 'userAgent', 'bench/1.0'),
       date_trunc('milliseconds', k.born + make_interval(mins => v))
FROM k, generate_series(1, ${PER_KEY}) AS v
ORDER BY v, k.n`;

function rate(events: number, ms: number): number {
  return (events / ms) * 1000;
}

const FLOOR_TARGET = 1.5;

function rebuildLine(name: string, ms: number, floor: Floor): string {
  const ratio = ms / floor.totalMs;
  return (
    `rebuild ${name.padEnd(22)} ${fmt(ms / 1000, 1)} s  ${fmt(rate(EVENTS, ms))} events/s  ` +
    `floor ${fmt(floor.totalMs / 1000, 1)} s (read ${fmt(floor.readMs / 1000, 1)} + load ${fmt(floor.loadMs / 1000, 1)} + indexes ${fmt(floor.indexMs / 1000, 1)})  ` +
    `${fmt(ratio, 2)}× the floor, target ≤ ${FLOOR_TARGET}×  ${verdict(ratio <= FLOOR_TARGET)}`
  );
}

async function main(): Promise<void> {
  const db = await openDedicatedDatabase('keyledger_bench_audit', progress);
  const pool = new Pool({ connectionString: db.url, max: 4, application_name: 'keyledger-bench' });
  try {
    progress(`generating ${fmt(EVENTS)} events over ${fmt(KEYS)} keys`);
    for (let from = 1; from <= KEYS; from += 10_000) {
      await pool.query(GENERATE, [from, Math.min(KEYS, from + 9_999)]);
      progress(`  ${fmt(Math.min(KEYS, from + 9_999) * PER_KEY)} events`);
    }
    await pool.query('VACUUM ANALYZE events');

    const store = new EventStore(pool);
    const projections = new ProjectionsService(pool, store, undefined as never, db.config);
    projections.registerInline(new ActiveKeysProjection());

    progress('rebuilding the active-key read model (one transaction, SHARE lock on events)');
    let started = performance.now();
    await projections.rebuild('active-keys', (n) => n % 200_000 === 0 && progress(`  ${fmt(n)} events`));
    const activeMs = performance.now() - started;

    progress('rebuilding the audit log (a new table, filled with COPY FREEZE, indexed, swapped in)');
    const audit = new ProjectionRunner(new AuditLogProjection(store), pool, store, 1000);
    await audit.init();
    started = performance.now();
    await audit.rebuild((n) => n % 200_000 === 0 && progress(`  ${fmt(n)} events`));
    const auditMs = performance.now() - started;
    const { rows: counted } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log');
    if (Number(counted[0].n) !== EVENTS) throw new Error(`audit_log has ${counted[0].n} rows, expected ${EVENTS}`);
    await pool.query('VACUUM ANALYZE audit_log');

    progress("timing PostgreSQL's own share of each rebuild (the floor)");
    const activeFloor = await rebuildFloor(pool, 'api_keys', { order: 'stream', metadata: false });
    const auditFloor = await rebuildFloor(pool, 'audit_log', { order: 'global', metadata: true });

    progress('timing the common audit queries (200 each, first page of 100, newest first)');
    const reader = new AuditReader(pool);
    const since = new Date(Date.now() - 7 * 86_400_000).toISOString();
    const queries: [string, (i: number) => Promise<unknown>][] = [
      ['by key', (i) => reader.search(ADMIN, { keyId: `${md5Uuid(`key${(i * 7919) % KEYS || 1}`)}` }, 100)],
      ['by tenant, last 7 days', (i) => reader.search(ADMIN, { tenantId: `t-${i % TENANTS}`, from: since }, 100)],
      ['by actor', (i) => reader.search(ADMIN, { actorId: `actor-${i % ACTORS}` }, 100)],
    ];
    const timings: [string, ReturnType<typeof distribution>][] = [];
    for (const [name, run] of queries) {
      for (let i = 0; i < 20; i++) await run(i); // warm-up
      const samples: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        await run(i + 20);
        samples.push(performance.now() - t);
      }
      timings.push([name, distribution(samples)]);
    }

    progress(`exporting all ${fmt(EVENTS)} rows as NDJSON`);
    let rows = 0;
    // Flat memory: the second half of the export must not need more than the first half did.
    const peakRss = [0, 0];
    const baseRss = process.memoryUsage().rss;
    const sampler = setInterval(() => {
      const half = rows < EVENTS / 2 ? 0 : 1;
      peakRss[half] = Math.max(peakRss[half], process.memoryUsage().rss);
    }, 50);
    let bytes = 0;
    started = performance.now();
    await pipeline(
      await new AuditExporter(db.url, db.config, store).open(ADMIN, {}, 'ndjson'),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) rows++; // one line per entry
          bytes += chunk.length;
          done();
        },
      }),
    );
    const exportMs = performance.now() - started;
    clearInterval(sampler);

    const exportRate = rate(rows, exportMs);
    const worstP95 = Math.max(...timings.map(([, d]) => d.p95));
    console.log(`keyledger audit benchmark: ${machineLine()}`);
    console.log(`data: ${fmt(EVENTS)} events over ${fmt(KEYS)} keys, ${TENANTS} tenants, ${ACTORS} actors, 90 days`);
    console.log('');
    console.log(rebuildLine('active-keys (inline)', activeMs, activeFloor));
    console.log(rebuildLine('audit-log (async)', auditMs, auditFloor));
    console.log('');
    console.log('query                   |  p50 ms |  p95 ms |  p99 ms');
    for (const [name, d] of timings) {
      console.log(`${name.padEnd(23)} | ${fmt(d.p50, 2).padStart(7)} | ${fmt(d.p95, 2).padStart(7)} | ${fmt(d.p99, 2).padStart(7)}`);
    }
    console.log(`worst p95 ${fmt(worstP95, 2)} ms, target ≤ 20 ms  ${verdict(worstP95 <= 20)}`);
    console.log('');
    console.log(
      `export NDJSON: ${fmt(rows)} rows, ${fmt(bytes / 1e6, 1)} MB in ${fmt(exportMs / 1000, 1)} s = ${fmt(exportRate)} rows/s, target ≥ 100,000  ${verdict(exportRate >= 100_000)}`,
    );
    // Memory that grew with the rows would add about what the second half wrote; flat adds a small fraction of it.
    const added = Math.max(0, peakRss[1] - peakRss[0]);
    const flat = added < (bytes / 2) * 0.1;
    console.log(
      `peak RSS during export: first half ${fmt(peakRss[0] / 1e6)} MB, second half ${fmt(peakRss[1] / 1e6)} MB (start ${fmt(baseRss / 1e6)} MB): ` +
        `+${fmt(added / 1e6)} MB while the second half wrote ${fmt(bytes / 2e6)} MB  ${flat ? 'FLAT' : 'GROWING'} (flat: under 10 % of that)`,
    );
  } finally {
    await pool.end();
    await db.stop();
  }
}

/** md5(text)::uuid, as the generator derives key ids. */
function md5Uuid(text: string): string {
  const hex = createHash('md5').update(text).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

main().catch((error: unknown) => {
  console.error(`bench:audit failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
