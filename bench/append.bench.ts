/**
 * `npm run bench:append`: event-store append throughput against a plain single-row INSERT of the
 * same payload on the same database (the physical limit), at concurrency 1 and 16.
 *
 * Env: BENCH_SECONDS (measured seconds per workload per concurrency, default 10),
 * BENCH_WARMUP_SECONDS (default 2), DATABASE_URL / DATA_DIR as for the app.
 * Results go to stdout, progress to stderr.
 */
import { availableParallelism } from 'node:os';
import { Pool } from 'pg';
import { EventStore } from '../src/event-store/event-store.js';
import { openBenchDatabase } from './support/bench-database.js';
import { KeyLifecycle } from './support/key-events.js';
import { combine, runPhase, summarize, type PhaseResult, type Summary } from './support/measure.js';

const CONCURRENCIES = [1, 16] as const;
/** The append must reach this share of the plain INSERT's events/s at every concurrency. */
const TARGET = 0.7;

const PLAIN_TABLE_SQL = `CREATE TABLE IF NOT EXISTS bench_plain_insert (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  payload jsonb NOT NULL,
  metadata jsonb NOT NULL
)`;
const PLAIN_INSERT_SQL = 'INSERT INTO bench_plain_insert (payload, metadata) VALUES ($1::jsonb, $2::jsonb)';

type Workload = 'plain' | 'append';

interface Row {
  concurrency: number;
  plain: Summary;
  append: Summary;
  ratio: number;
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

/** One operation per worker step: the same key-shaped event, appended or plainly inserted. */
function operation(workload: Workload, pool: Pool, store: EventStore): (worker: number) => () => Promise<void> {
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

async function checkpoint(pool: Pool): Promise<void> {
  // Starts every measured segment with no pending checkpoint; needs superuser or pg_checkpoint.
  await pool.query('CHECKPOINT').catch(() => undefined);
}

async function measureConcurrency(
  url: string,
  concurrency: number,
  order: readonly Workload[],
  measured: number,
  warmup: number,
  signal: AbortSignal,
  totals: Record<Workload, number>,
): Promise<Row> {
  const pool = new Pool({ connectionString: url, max: concurrency, application_name: 'keyledger-bench' });
  pool.on('error', (error) => progress(`idle client error: ${error.message}`));
  const store = new EventStore(pool);
  const results: Record<Workload, PhaseResult[]> = { plain: [], append: [] };
  try {
    for (const workload of ['plain', 'append'] as const) {
      progress(`c=${concurrency}: warm-up ${workload} for ${warmup} s`);
      totals[workload] += (await runPhase(concurrency, warmup, operation(workload, pool, store), signal)).ops;
    }
    // Each workload runs twice for half the time, in mirrored order, so neither always goes first.
    for (const workload of order) {
      await checkpoint(pool);
      progress(`c=${concurrency}: measuring ${workload} for ${measured / 2} s`);
      const result = await runPhase(concurrency, measured / 2, operation(workload, pool, store), signal);
      progress(`c=${concurrency}: ${workload} ${fmt(result.ops / result.seconds)} events/s`);
      totals[workload] += result.ops;
      results[workload].push(result);
    }
  } finally {
    await pool.end();
  }
  const plain = summarize(combine(results.plain));
  const append = summarize(combine(results.append));
  return { concurrency, plain, append, ratio: append.perSecond / plain.perSecond };
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
  const lines = [
    header,
    '',
    'concurrency | plain INSERT ev/s | append ev/s | append/plain | append p50 ms | append p99 ms | plain p50 ms | plain p99 ms',
    ...rows.map((r) =>
      [
        String(r.concurrency).padStart(11),
        fmt(r.plain.perSecond).padStart(17),
        fmt(r.append.perSecond).padStart(11),
        `${fmt(r.ratio * 100, 1)} %`.padStart(12),
        fmt(r.append.p50, 2).padStart(13),
        fmt(r.append.p99, 2).padStart(13),
        fmt(r.plain.p50, 2).padStart(12),
        fmt(r.plain.p99, 2).padStart(12),
      ].join(' | '),
    ),
    '',
  ];
  const pass = rows.every((r) => r.ratio >= TARGET);
  const detail = rows.map((r) => `${fmt(r.ratio * 100, 1)} % at c=${r.concurrency}`).join(', ');
  lines.push(`VERDICT: ${pass ? 'PASS' : 'FAIL'}: append is ${detail} of plain INSERT (target ≥ ${TARGET * 100} % at every concurrency)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main(): Promise<void> {
  const measured = seconds('BENCH_SECONDS', 10, 1);
  const warmup = seconds('BENCH_WARMUP_SECONDS', 2, 0);
  const abort = new AbortController();
  process.once('SIGINT', () => {
    progress('interrupted: finishing the current phase and shutting down');
    abort.abort();
  });

  const database = await openBenchDatabase(progress);
  try {
    const server = await prepareServer(database.url);
    progress(`${database.embedded ? 'embedded' : 'external'} ${server}`);
    const sample = new KeyLifecycle();
    const created = sample.next();
    const rotated = sample.next();
    const size = (v: unknown): number => Buffer.byteLength(JSON.stringify(v));

    const totals: Record<Workload, number> = { plain: 0, append: 0 };
    const rows: Row[] = [];
    for (const [i, concurrency] of CONCURRENCIES.entries()) {
      const order: Workload[] = i % 2 === 0 ? ['plain', 'append', 'append', 'plain'] : ['append', 'plain', 'plain', 'append'];
      rows.push(await measureConcurrency(database.url, concurrency, order, measured, warmup, abort.signal, totals));
      if (abort.signal.aborted) return;
    }
    await verifyRowCounts(database.url, totals);
    printReport(
      [
        `keyledger append benchmark: ${database.embedded ? 'embedded' : 'external'} ${server}, ${availableParallelism()} CPUs`,
        `payload ${size(created.event.payload)} B (create) / ${size(rotated.event.payload)} B (rotate), metadata ${size(created.metadata)} B;` +
          ` ${measured} s measured per workload and concurrency (two halves, A/B/B/A), ${warmup} s warm-up each`,
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
