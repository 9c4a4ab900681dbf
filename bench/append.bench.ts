/**
 * `npm run bench:append`: event-store append throughput against a plain single-row INSERT of the
 * same payload on the same database (the physical limit), at concurrency 1 and 16.
 *
 * Env: BENCH_SECONDS (measured seconds per workload and concurrency, default 10),
 * BENCH_WARMUP_SECONDS (per workload and concurrency, default 2), and DATABASE_URL / DATA_DIR as
 * for the app. Results go to stdout, progress to stderr.
 */
import { availableParallelism } from 'node:os';
import { Pool } from 'pg';
import { EventStore } from '../src/event-store/index.js';
import { openBenchDatabase } from './support/bench-database.js';
import { KeyLifecycle } from './support/key-events.js';
import { combine, rate, runPhase, summarize, type PhaseResult, type Summary } from './support/measure.js';

const CONCURRENCIES = [1, 16] as const;
/** The append must reach this share of the plain INSERT's events/s at every concurrency. */
const TARGET = 0.7;
/** Measured time is cut into slices of about this length, alternating A B B A A B …, so drift in disk speed hits both. */
const SLICE_SECONDS = 1;

const PLAIN_TABLE_SQL = `CREATE TABLE IF NOT EXISTS bench_plain_insert (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload jsonb NOT NULL,
  metadata jsonb NOT NULL
)`;
const PLAIN_INSERT_SQL = 'INSERT INTO bench_plain_insert (payload, metadata) VALUES ($1::jsonb, $2::jsonb)';

type Workload = 'plain' | 'append';

interface Measured {
  summary: Summary;
  /** WAL generated per operation (bytes), all indexes and full-page images included. */
  walPerOp: number;
}

interface Row {
  concurrency: number;
  plain: Measured;
  append: Measured;
  ratio: number;
  /** Lowest and highest append/plain ratio over adjacent slice pairs: the run's noise. */
  pairRatios: [number, number];
}

function seconds(name: string, fallback: number, min: number): number {
  const raw = process.env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return value;
}

function progress(line: string): void {
  process.stderr.write(`[bench:append] ${line}\n`);
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (ratio: number): string => `${fmt(ratio * 100, 1)} %`;

/** One operation per worker step: the same key-shaped event, appended or plainly inserted. */
function operation(workload: Workload, pool: Pool, store: EventStore): () => () => Promise<void> {
  return () => {
    const keys = new KeyLifecycle();
    if (workload === 'plain') {
      return async () => {
        const step = keys.next();
        await pool.query(PLAIN_INSERT_SQL, [JSON.stringify(step.event.payload), JSON.stringify(step.metadata)]);
      };
    }
    return async () => {
      const step = keys.next();
      await store.append(step.streamId, step.expected, [step.event], step.metadata);
    };
  };
}

async function walLsn(pool: Pool): Promise<string> {
  const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
  return rows[0].lsn;
}

async function walSince(pool: Pool, lsn: string): Promise<number> {
  const { rows } = await pool.query<{ bytes: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn) AS bytes', [lsn]);
  return Number(rows[0].bytes);
}

async function measureConcurrency(
  url: string,
  concurrency: number,
  startWith: Workload,
  measured: number,
  warmup: number,
  signal: AbortSignal,
  totals: Record<Workload, number>,
): Promise<Row> {
  const pool = new Pool({ connectionString: url, max: concurrency, application_name: 'keyledger-bench' });
  pool.on('error', (error) => progress(`idle client error: ${error.message}`));
  const store = new EventStore(pool);
  const results: Record<Workload, PhaseResult[]> = { plain: [], append: [] };
  const wal: Record<Workload, number> = { plain: 0, append: 0 };
  const other = (w: Workload): Workload => (w === 'plain' ? 'append' : 'plain');
  try {
    for (const workload of [startWith, other(startWith)]) {
      progress(`c=${concurrency}: warm-up ${workload} for ${warmup} s`);
      totals[workload] += (await runPhase(concurrency, warmup, operation(workload, pool, store), signal)).ops;
    }
    // Start the measurement on a fresh checkpoint cycle (needs superuser or pg_checkpoint; skipped otherwise).
    await pool.query('CHECKPOINT').catch(() => progress('CHECKPOINT not permitted; measuring without it'));
    const slices = Math.max(2, Math.round(measured / SLICE_SECONDS));
    progress(`c=${concurrency}: measuring ${measured} s per workload in ${slices} interleaved slices each`);
    for (let i = 0; i < slices && !signal.aborted; i++) {
      const first = i % 2 === 0 ? startWith : other(startWith);
      for (const workload of [first, other(first)]) {
        const lsn = await walLsn(pool);
        const result = await runPhase(concurrency, measured / slices, operation(workload, pool, store), signal);
        wal[workload] += await walSince(pool, lsn);
        totals[workload] += result.ops;
        results[workload].push(result);
      }
    }
  } finally {
    await pool.end();
  }
  const measuredOf = (w: Workload): Measured => {
    const all = combine(results[w]);
    return { summary: summarize(all), walPerOp: all.ops ? wal[w] / all.ops : NaN };
  };
  const plain = measuredOf('plain');
  const append = measuredOf('append');
  const pairCount = Math.min(results.plain.length, results.append.length);
  const pairs = results.append.slice(0, pairCount).map((a, i) => rate(a) / rate(results.plain[i]));
  const row: Row = {
    concurrency,
    plain,
    append,
    ratio: append.summary.perSecond / plain.summary.perSecond,
    pairRatios: [Math.min(...pairs), Math.max(...pairs)],
  };
  progress(
    `c=${concurrency}: plain ${fmt(plain.summary.perSecond)} events/s, append ${fmt(append.summary.perSecond)} events/s (${pct(row.ratio)})`,
  );
  return row;
}

/** Every counted operation must have written exactly one row. */
async function verifyRowCounts(url: string, totals: Record<Workload, number>): Promise<void> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    const { rows } = await pool.query<{ events: string; plain: string }>(
      'SELECT (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM bench_plain_insert) AS plain',
    );
    const events = Number(rows[0].events);
    const plain = Number(rows[0].plain);
    if (events !== totals.append || plain !== totals.plain) {
      throw new Error(`row counts disagree: events ${events} vs ${totals.append} appends, plain ${plain} vs ${totals.plain} inserts`);
    }
    progress(`row counts check out: ${fmt(events)} events, ${fmt(plain)} plain rows`);
  } finally {
    await pool.end();
  }
}

/** Creates the scratch table and describes the server settings that bound commit throughput. */
async function prepareServer(url: string): Promise<string> {
  const pool = new Pool({ connectionString: url, max: 1 });
  try {
    await pool.query(PLAIN_TABLE_SQL);
    const { rows } = await pool.query<{ version: string; sc: string; fsync: string; sb: string }>(
      `SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sc,
              current_setting('fsync') AS fsync, current_setting('shared_buffers') AS sb`,
    );
    const s = rows[0];
    return `PostgreSQL ${s.version} (synchronous_commit=${s.sc}, fsync=${s.fsync}, shared_buffers=${s.sb})`;
  } finally {
    await pool.end();
  }
}

function printReport(header: string, rows: readonly Row[]): void {
  const columns: [string, (r: Row) => string][] = [
    ['concurrency', (r) => String(r.concurrency)],
    ['plain INSERT ev/s', (r) => fmt(r.plain.summary.perSecond)],
    ['append ev/s', (r) => fmt(r.append.summary.perSecond)],
    ['append/plain', (r) => pct(r.ratio)],
    ['slice pairs', (r) => `${fmt(r.pairRatios[0] * 100)}–${fmt(r.pairRatios[1] * 100)} %`],
    ['append p50 ms', (r) => fmt(r.append.summary.p50, 2)],
    ['append p99 ms', (r) => fmt(r.append.summary.p99, 2)],
    ['plain p50 ms', (r) => fmt(r.plain.summary.p50, 2)],
    ['plain p99 ms', (r) => fmt(r.plain.summary.p99, 2)],
    ['WAL B/event append', (r) => fmt(r.append.walPerOp)],
    ['WAL B/row plain', (r) => fmt(r.plain.walPerOp)],
  ];
  const table = [columns.map(([title]) => title), ...rows.map((r) => columns.map(([, cell]) => cell(r)))];
  const widths = columns.map((_, i) => Math.max(...table.map((line) => line[i].length)));
  const lines = [header, '', ...table.map((line) => line.map((cell, i) => cell.padStart(widths[i])).join(' | ')), ''];
  const pass = rows.length === CONCURRENCIES.length && rows.every((r) => r.ratio >= TARGET);
  const detail = rows.map((r) => `${pct(r.ratio)} at c=${r.concurrency}`).join(', ');
  lines.push(`VERDICT: ${pass ? 'PASS' : 'FAIL'}: append is ${detail} of plain INSERT (target ≥ ${TARGET * 100} % at every concurrency)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const measured = seconds('BENCH_SECONDS', 10, 1);
  const warmup = seconds('BENCH_WARMUP_SECONDS', 2, 0);
  const abort = new AbortController();
  process.once('SIGINT', () => {
    progress('interrupted: stopping after the current slice');
    abort.abort();
  });

  const database = await openBenchDatabase(progress);
  try {
    const server = await prepareServer(database.url);
    const where = `${database.embedded ? 'embedded' : 'external'} ${server}`;
    progress(where);
    const sample = new KeyLifecycle();
    const created = sample.next();
    const rotated = sample.next();
    const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

    const totals: Record<Workload, number> = { plain: 0, append: 0 };
    const rows: Row[] = [];
    for (const [i, concurrency] of CONCURRENCIES.entries()) {
      const startWith: Workload = i % 2 === 0 ? 'plain' : 'append';
      rows.push(await measureConcurrency(database.url, concurrency, startWith, measured, warmup, abort.signal, totals));
      if (abort.signal.aborted) return;
    }
    await verifyRowCounts(database.url, totals);
    printReport(
      [
        `keyledger append benchmark: ${where}, ${availableParallelism()} CPUs`,
        `payload ${size(created.event.payload)} B (create) / ${size(rotated.event.payload)} B (rotate), metadata ${size(created.metadata)} B;` +
          ` ${measured} s measured per workload and concurrency in interleaved ~${SLICE_SECONDS} s slices (A B B A …), ${warmup} s warm-up each`,
        'append = EventStore.append of one event (create at no-stream, then rotate at 1, per stream);' +
          ' plain = one-row INSERT of the same payload and metadata into bench_plain_insert',
      ].join('\n'),
      rows,
    );
  } finally {
    progress('shutting down');
    await database.stop();
  }
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
