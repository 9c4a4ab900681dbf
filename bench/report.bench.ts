/**
 * bench:report — the key inventory report (GET /admin/reports/keys, issue 18) over N keys (default
 * 100,000; BENCH_KEYS changes it), 3 events each (created, rotated, then updated or, for every
 * tenth key, revoked with a reason code), half of them with a recorded last use. Streams the whole
 * report as NDJSON and as CSV into a counting sink, as the HTTP response and the CLI do: keys/s and
 * the process's peak RSS growth (the report must not hold the whole report in memory).
 */
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Pool } from 'pg';
import { EventStore, ProjectionsService } from '../src/event-store/index.js';
import { KeyReport, keyReportText, type Actor, type KeyReportFormat } from '../src/keys/index.js';
import { ActiveKeysProjection } from '../src/keys/projections/active-keys.projection.js';
import { envSeconds, fmt, machineLine, progressFor } from './support/bench-env.js';
import { openDedicatedDatabase } from './support/dedicated-database.js';

const progress = progressFor('bench:report');
const KEYS = Math.round(envSeconds('BENCH_KEYS', 100_000, 100));
const TENANTS = 100;
const ADMIN: Actor = { type: 'system', id: 'bench', tenantId: null, scopes: null };

const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;
const GENERATE = `
WITH k AS (
  SELECT g AS n, md5('key' || g)::uuid AS key_id, substr(md5('pub' || g), 1, 12) AS public_id,
         't-' || (g % ${TENANTS}) AS tenant_id, now() - make_interval(days => 200) + make_interval(secs => g) AS born
  FROM generate_series($1::int, $2::int) AS g
)
INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, payload, metadata)
SELECT 'key-' || k.key_id, v, md5(k.key_id::text || v)::uuid,
       CASE WHEN v = 1 THEN 'key.created' WHEN v = 2 THEN 'key.rotated' WHEN k.n % 10 = 0 THEN 'key.revoked' ELSE 'key.updated' END,
       1,
       CASE
         WHEN v = 1 THEN jsonb_build_object('keyId', k.key_id, 'publicId', k.public_id, 'prefix', 'kl_live', 'tenantId', k.tenant_id,
                'name', 'service key ' || k.n, 'scopes', jsonb_build_array('invoices:read', 'reports:read'),
                'tags', jsonb_build_object('plan', 'pro'), 'expiresAt', null,
                'secretHash', encode(sha256(('s' || k.n)::bytea), 'hex'), 'occurredAt', to_char(k.born AT TIME ZONE 'UTC', ${ISO}))
         WHEN v = 2 THEN jsonb_build_object('secretHash', encode(sha256(('r' || k.n)::bytea), 'hex'),
                'previousSecretHash', encode(sha256(('s' || k.n)::bytea), 'hex'), 'graceEndsAt', null, 'expiresAt', null,
                'occurredAt', to_char((k.born + make_interval(days => 100)) AT TIME ZONE 'UTC', ${ISO}))
         WHEN k.n % 10 = 0 THEN jsonb_build_object('reason', 'found, "quoted"', 'reasonCode', 'leaked',
                'occurredAt', to_char((k.born + make_interval(days => 150)) AT TIME ZONE 'UTC', ${ISO}))
         ELSE jsonb_build_object('changes', jsonb_build_object('name', jsonb_build_object('from', 'service key ' || k.n, 'to', 'service key ' || k.n || ' v2')),
                'occurredAt', to_char((k.born + make_interval(days => 150)) AT TIME ZONE 'UTC', ${ISO}))
       END,
       jsonb_build_object('actor', jsonb_build_object('type', 'system', 'id', 'system:bench'))
FROM k, generate_series(1, 3) AS v
ORDER BY v, k.n`;

async function measure(
  report: KeyReport,
  format: KeyReportFormat,
): Promise<{ ms: number; bytes: number; keys: number; rssGrowthMb: number }> {
  global.gc?.();
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  let bytes = 0;
  let keys = 0;
  const started = performance.now();
  const run = report.open(ADMIN, {});
  await pipeline(
    Readable.from(
      keyReportText(
        format,
        run.pages((examined) => (keys = examined)),
      ),
    ),
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    }),
  );
  const ms = performance.now() - started;
  clearInterval(sampler);
  return { ms, bytes, keys, rssGrowthMb: (peak - rssBefore) / 1e6 };
}

async function main(): Promise<void> {
  const db = await openDedicatedDatabase('keyledger_bench_report', progress);
  const pool = new Pool({ connectionString: db.url, max: 4, application_name: 'keyledger-bench' });
  try {
    progress(`generating ${fmt(KEYS)} keys, 3 events each`);
    for (let from = 1; from <= KEYS; from += 10_000) await pool.query(GENERATE, [from, Math.min(KEYS, from + 9_999)]);
    await pool.query(`INSERT INTO key_last_use (key_id, last_used_at) SELECT key_id, now() - make_interval(days => 40) FROM (
      SELECT substr(stream_id, 5)::uuid AS key_id FROM events WHERE type = 'key.created' AND stream_version = 1) k WHERE get_byte(decode(md5(key_id::text), 'hex'), 0) % 2 = 0`);
    const store = new EventStore(pool);
    const projections = new ProjectionsService(pool, store, undefined as never, db.config);
    projections.registerInline(new ActiveKeysProjection());
    progress('building the active-key read model');
    await projections.rebuild('active-keys');
    for (const table of ['events', 'api_keys', 'key_last_use']) await pool.query(`VACUUM ANALYZE ${table}`);

    const report = new KeyReport(pool, store);
    const results: [KeyReportFormat, Awaited<ReturnType<typeof measure>>][] = [];
    for (const format of ['ndjson', 'csv', 'ndjson', 'csv'] as const) {
      progress(`streaming the report as ${format}`);
      results.push([format, await measure(report, format)]);
    }
    console.log(`keyledger key report benchmark: ${machineLine()}`);
    console.log(`data: ${fmt(KEYS)} keys over ${TENANTS} tenants, 3 events each, half with a last use`);
    for (const [format, r] of results) {
      console.log(
        `${format.padEnd(6)} ${fmt(r.keys)} keys in ${fmt(r.ms / 1000, 2)} s: ${fmt((r.keys / r.ms) * 1000)} keys/s, ` +
          `${fmt(r.bytes / 1e6, 1)} MB written, peak RSS growth ${fmt(r.rssGrowthMb, 1)} MB`,
      );
    }
  } finally {
    await pool.end();
    await db.stop();
  }
}

await main();
