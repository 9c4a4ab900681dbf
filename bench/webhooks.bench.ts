/**
 * `npm run bench:webhooks`: webhook delivery, from an event's commit to a local receiver. A fast
 * HTTP receiver (keep-alive, answers 200 at once) in this process, on a dedicated database,
 * WEBHOOK_ALLOW_PRIVATE_NETWORKS on. Every expected (endpoint, webhook-id) is checked: lost = never
 * arrived, duplicate = arrived more than once.
 *
 * 1. Idle latency: one app instance in this process; BENCH_WEBHOOK_SAMPLES (default 300) keys
 *    created one at a time through the command bus, each timed from the command's return (its
 *    commit is just before) until the receiver has its key.created. Target: p99 ≤ 100 ms.
 * 2. Throughput: this process queues BENCH_WEBHOOK_KEYS (default 5,000) key.created events for
 *    BENCH_WEBHOOK_ENDPOINTS (default 4) platform-wide endpoints (its dispatcher off), then one
 *    dispatcher process (`node dist/src/main.js`, BENCH_DISPATCHER_NODE_ARGS e.g. --cpu-prof)
 *    delivers the backlog; deliveries/s from the first delivery to the last. Target: ≥ 1,000/s,
 *    0 lost, 0 duplicates (nothing crashed).
 * 3. Floors, same run: a bare keep-alive HTTP client loop in another process (same receiver, same
 *    concurrency), and the bare lease + record statements on the same table.
 * 4. Forced crash: the same backlog, the dispatcher process SIGKILLed once a third has arrived,
 *    a second one takes over when the leases run out. Target: 0 lost; duplicates are reported.
 *
 * Env as the other benches: DATABASE_URL / DATA_DIR (default ./.data/bench, embedded PostgreSQL
 * on port 54339); WEBHOOK_* as the app reads them. Results go to stdout, progress to stderr.
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppModule } from '../src/app.module.js';
import { Pool } from 'pg';
import { EventStore, ProjectionsService } from '../src/event-store/index.js';
import { SYSTEM_ACTOR } from '../src/keys/index.js';
import { leaseAheadWindow, WebhookEndpoints } from '../src/webhooks/index.js';
import { benchAppConfig, issueBenchKey, startBenchApp, type BenchApp } from './support/bench-app.js';
import { distribution, envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { describeServer, openDedicatedDatabase, type DedicatedDatabase } from './support/dedicated-database.js';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { keyCreated, requestMetadata, secretHash } from './support/key-events.js';

const TARGET_P99_MS = 100;
const TARGET_PER_SECOND = 1000;
const DATABASE = 'keyledger_bench_webhooks';
const APPEND_CONCURRENCY = 16;
const GIVE_UP_MS = 120_000;
const MAIN = join(import.meta.dirname, '..', 'src', 'main.js');
const HTTP_FLOOR = join(import.meta.dirname, 'support', 'http-floor-child.js');

const progress = progressFor('bench:webhooks');

interface Receiver {
  url: string;
  /** `path message-id` → arrival times. */
  arrivals: Map<string, number[]>;
  /** keyId → first arrival of its key.created at `/latency`. */
  latency: Map<string, number>;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const arrivals = new Map<string, number[]>();
  const latency = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      const id = `${req.url} ${String(req.headers['webhook-id'])}`;
      const seen = arrivals.get(id);
      if (seen) seen.push(at);
      else arrivals.set(id, [at]);
      if (req.url === '/latency') {
        const { data } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { keyId: string } };
        if (!latency.has(data.keyId)) latency.set(data.keyId, at);
      }
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    latency,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function waitFor(condition: () => boolean, what: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      progress(`gave up waiting for ${what} after ${timeoutMs} ms`);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return true;
}

async function idleLatency(app: BenchApp, receiver: Receiver, samples: number): Promise<number[]> {
  const endpoints = app.app.get(WebhookEndpoints);
  await endpoints.create({ url: `${receiver.url}/latency`, eventTypes: ['key.created'] }, { actor: SYSTEM_ACTOR, requestId: 'bench' });
  const times: number[] = [];
  for (let i = 0; i < samples + 20; i++) {
    const key = await issueBenchKey(app.app, { tenantId: `tenant-${i % 20}`, name: `latency ${i}`, scopes: ['orders:read'] });
    const committed = performance.now();
    if (!(await waitFor(() => receiver.latency.has(key.keyId), `key.created of ${key.keyId}`, 10_000))) {
      throw new Error('a delivery never arrived');
    }
    if (i >= 20) times.push(receiver.latency.get(key.keyId)! - committed); // the first 20 warm up
  }
  return times;
}

/** Platform-wide endpoints at `${receiver.url}/${prefix}-i`, subscribed to key.created. */
async function createEndpoints(
  app: BenchApp,
  receiver: Receiver,
  prefix: string,
  count: number,
): Promise<{ ids: string[]; paths: string[] }> {
  const endpoints = app.app.get(WebhookEndpoints);
  const ids: string[] = [];
  const paths: string[] = [];
  for (let i = 0; i < count; i++) {
    paths.push(`/${prefix}-${i}`);
    const e = await endpoints.create(
      { url: `${receiver.url}/${prefix}-${i}`, eventTypes: ['key.created'] },
      { actor: SYSTEM_ACTOR, requestId: 'bench' },
    );
    ids.push(e.id);
  }
  return { ids, paths };
}

async function deleteEndpoints(app: BenchApp, ids: readonly string[]): Promise<void> {
  for (const id of ids) await app.app.get(WebhookEndpoints).delete(id, { actor: SYSTEM_ACTOR, requestId: 'bench' });
}

/** Appends `keys` key.created events, APPEND_CONCURRENCY at a time, and waits until the outbox has queued them; their event ids. */
async function queueBacklog(app: BenchApp, keys: number): Promise<string[]> {
  const store = app.app.get(EventStore);
  const eventIds: string[] = [];
  let next = 0;
  const appendOne = async (): Promise<void> => {
    while (next < keys) {
      next++;
      const keyId = randomUUID();
      const event = { ...keyCreated(keyId, secretHash()), eventId: randomUUID() };
      eventIds.push(event.eventId);
      await store.append(keyStreamId(keyId), 'no-stream', [event], requestMetadata());
    }
  };
  await Promise.all(Array.from({ length: APPEND_CONCURRENCY }, appendOne));
  await app.app.get(ProjectionsService).catchUp();
  return eventIds;
}

interface Tally {
  delivered: number;
  lost: number;
  /** Arrivals of an (endpoint, webhook-id) after its first. */
  duplicates: number;
  spanMs: number;
  perSecond: number;
}

function tally(receiver: Receiver, expected: readonly string[]): Tally {
  let lost = 0;
  let duplicates = 0;
  let first = Infinity;
  let last = 0;
  for (const id of expected) {
    const at = receiver.arrivals.get(id);
    if (!at) {
      lost++;
      continue;
    }
    duplicates += at.length - 1;
    first = Math.min(first, at[0]);
    last = Math.max(last, at[0]);
  }
  const delivered = expected.length - lost;
  return { delivered, lost, duplicates, spanMs: last - first, perSecond: (delivered / (last - first)) * 1000 };
}

const arrivedOf = (receiver: Receiver, expected: readonly string[]): number => expected.filter((id) => receiver.arrivals.has(id)).length;

/** A server as a user starts it (`node dist/src/main.js`), here only to dispatch: the bench's app queues, this one delivers. */
function startDispatcher(databaseUrl: string, pepper: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [...(process.env.BENCH_DISPATCHER_NODE_ARGS ?? '').split(' ').filter(Boolean), MAIN], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KEY_PEPPER: pepper,
      PORT: '0',
      METRICS_PORT: 'off',
      RUN_MIGRATIONS: 'false',
      BOOTSTRAP_ADMIN: 'false',
      EXPIRY_SWEEP_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return child;
}

function stopped(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill(signal);
  });
}

/** A backlog of `keys` events × the endpoints, then one dispatcher process started to deliver it all. */
async function throughput(
  app: BenchApp,
  database: DedicatedDatabase,
  pepper: string,
  receiver: Receiver,
  keys: number,
  endpointCount: number,
) {
  const { ids, paths } = await createEndpoints(app, receiver, 'load', endpointCount);
  const eventIds = await queueBacklog(app, keys);
  const expected = paths.flatMap((p) => eventIds.map((id) => `${p} msg_${id}`));
  progress(`queued ${expected.length} deliveries; starting a dispatcher process`);
  const child = startDispatcher(database.url, pepper);
  await waitFor(() => arrivedOf(receiver, expected) >= expected.length, 'every delivery', GIVE_UP_MS);
  await new Promise((resolve) => setTimeout(resolve, 500)); // late duplicates, if any
  await stopped(child, 'SIGTERM');
  await deleteEndpoints(app, ids);
  return tally(receiver, expected);
}

/**
 * The same backlog, but the dispatcher process is killed (SIGKILL) once a third has arrived, with
 * deliveries in flight; a second one (short leases: WEBHOOK_TIMEOUT 2 s, WEBHOOK_LEASE 3 s) takes
 * over. Nothing may be lost; the deliveries in flight at the kill may arrive twice.
 */
async function crash(app: BenchApp, database: DedicatedDatabase, pepper: string, receiver: Receiver, keys: number, endpointCount: number) {
  const { ids, paths } = await createEndpoints(app, receiver, 'crash', endpointCount);
  const eventIds = await queueBacklog(app, keys);
  const expected = paths.flatMap((p) => eventIds.map((id) => `${p} msg_${id}`));
  const shortLeases = { WEBHOOK_TIMEOUT: '2s', WEBHOOK_LEASE: '3s' };
  const first = startDispatcher(database.url, pepper, shortLeases);
  await waitFor(() => arrivedOf(receiver, expected) >= expected.length / 3, 'a third of the deliveries', GIVE_UP_MS);
  await stopped(first, 'SIGKILL');
  const atKill = arrivedOf(receiver, expected);
  progress(`killed the dispatcher with ${atKill} of ${expected.length} delivered; starting another`);
  const second = startDispatcher(database.url, pepper, shortLeases);
  await waitFor(() => arrivedOf(receiver, expected) >= expected.length, 'every delivery', GIVE_UP_MS);
  await new Promise((resolve) => setTimeout(resolve, 500));
  await stopped(second, 'SIGTERM');
  await deleteEndpoints(app, ids);
  return { ...tally(receiver, expected), atKill, expected: expected.length };
}

/** The floor for the HTTP side: a bare keep-alive client loop in a process of its own, same receiver, same concurrency. */
async function httpFloor(receiver: Receiver, count: number, concurrency: number): Promise<number> {
  const child = spawn(process.execPath, [HTTP_FLOOR, `${receiver.url}/floor`, String(count), String(concurrency), '400'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  await new Promise((resolve) => child.once('exit', resolve));
  return (JSON.parse(out) as { perSecond: number }).perSecond;
}

/**
 * The floor for the database side: the bare statements that lease `batch` pending rows of an
 * endpoint and record them delivered, one pair per batch, one loop per endpoint, on rows of
 * endpoints no dispatcher knows (deleted afterwards). `batch` is what a dispatcher leases of an
 * endpoint at most (its lease-ahead window).
 */
async function sqlFloor(url: string, rows: number, endpointCount: number, batch: number): Promise<number> {
  const pool = new Pool({ connectionString: url, max: endpointCount });
  try {
    const endpoints = Array.from({ length: endpointCount }, () => randomUUID());
    for (const e of endpoints) {
      await pool.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, order_key, payload)
         SELECT gen_random_uuid(), $1, 'floor_' || i, 'key.created', gen_random_uuid()::text, repeat('x', 400) FROM generate_series(1, $2) i`,
        [e, Math.ceil(rows / endpointCount)],
      );
    }
    await pool.query('ANALYZE webhook_deliveries');
    const started = performance.now();
    let done = 0;
    await Promise.all(
      endpoints.map(async (e) => {
        for (;;) {
          const leased = await pool.query<{ id: string }>(
            `UPDATE webhook_deliveries SET leased_until = now() + interval '60 s', lease_id = $2 WHERE id IN (
               SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'pending' ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED)
             RETURNING id, payload`,
            [e, randomUUID(), batch],
          );
          if (leased.rows.length === 0) return;
          await pool.query(
            `UPDATE webhook_deliveries w SET status = 'delivered', attempts = w.attempts + 1, delivered_at = now(), leased_until = NULL, lease_id = NULL, response_status = 200
             FROM unnest($1::uuid[]) AS u(id) WHERE w.id = u.id`,
            [leased.rows.map((r) => r.id)],
          );
          done += leased.rows.length;
        }
      }),
    );
    const perSecond = (done / (performance.now() - started)) * 1000;
    await pool.query('DELETE FROM webhook_deliveries WHERE endpoint_id = ANY($1::uuid[])', [endpoints]);
    return perSecond;
  } finally {
    await pool.end();
  }
}

async function main(): Promise<void> {
  const samples = Math.round(envSeconds('BENCH_WEBHOOK_SAMPLES', 300, 1));
  const keys = Math.round(envSeconds('BENCH_WEBHOOK_KEYS', 5000, 1));
  const endpointCount = Math.round(envSeconds('BENCH_WEBHOOK_ENDPOINTS', 4, 1));
  process.env.WEBHOOK_ALLOW_PRIVATE_NETWORKS ??= 'true';
  const database = await openDedicatedDatabase(DATABASE, progress);
  const receiver = await startReceiver();
  let app: BenchApp | undefined;
  try {
    const server = `${database.embedded ? 'embedded' : 'external'} ${await describeServer(database.url)}`;
    const config = benchAppConfig(database.config);
    const pepper = config.keyPepper!;
    app = await startBenchApp(AppModule.forRoot(config, database.url));
    const w = config.webhooks;
    const loads: string[] = [];
    const load = (): string => loadavg()[0].toFixed(2);
    progress(`idle latency: ${samples} keys, one at a time`);
    loads.push(load());
    const latency = distribution(await idleLatency(app, receiver, samples));
    await app.close();
    // From here on this process only queues (its outbox runner runs); dispatcher processes deliver.
    app = await startBenchApp(AppModule.forRoot({ ...config, webhooks: { ...w, dispatchEnabled: false } }, database.url));
    await deleteEndpoints(
      app,
      (await app.app.get(WebhookEndpoints).list(SYSTEM_ACTOR, undefined)).map((e) => e.id),
    );
    progress(`throughput: a backlog of ${keys} events × ${endpointCount} endpoints, one dispatcher process`);
    loads.push(load());
    const t = await throughput(app, database, pepper, receiver, keys, endpointCount);
    progress('floors: a bare keep-alive HTTP client, the bare lease + record statements');
    loads.push(load());
    const concurrency = w.concurrency * endpointCount;
    const http = await httpFloor(receiver, keys * endpointCount, concurrency);
    const window = leaseAheadWindow(w);
    const sql = await sqlFloor(database.url, keys * endpointCount, endpointCount, window);
    progress(`forced crash: a backlog of ${keys} events × ${endpointCount} endpoints, the dispatcher killed at a third`);
    loads.push(load());
    const c = await crash(app, database, pepper, receiver, keys, endpointCount);
    const floor = Math.min(http, sql);
    const lines = [
      `keyledger webhook delivery benchmark: ${machineLine()}; ${server}`,
      `a local receiver (keep-alive, answers 200 at once) in this process; WEBHOOK_ENDPOINT_CONCURRENCY=${w.concurrency}, WEBHOOK_POLL=${w.pollMs} ms, PROJECTION_POLL_MS=${config.projectionPollMs}`,
      `load average (1 min) at the start of each phase: ${loads.join(', ')}`,
      '',
      `idle, one app instance in this process, ${samples} keys one at a time, ms from the create command's return (after its commit) to the receiver having its key.created:`,
      `  p50 ${fmt(latency.p50, 1)} | p95 ${fmt(latency.p95, 1)} | p99 ${fmt(latency.p99, 1)} | max ${fmt(latency.max, 1)} | mean ${fmt(latency.mean, 1)}`,
      `throughput: ${keys} key.created queued × ${endpointCount} endpoints = ${keys * endpointCount} deliveries, sent by one dispatcher process (node dist/src/main.js):`,
      `  delivered ${t.delivered}, lost ${t.lost}, duplicates ${t.duplicates}; ${fmt(t.perSecond)} deliveries/s from the first delivery to the last (${fmt(t.spanMs)} ms)`,
      `floor, same run: a bare keep-alive client loop (${concurrency} at a time, another process) ${fmt(http)} requests/s to the same receiver;`,
      `  the bare lease + record statements (${endpointCount} loops, ${window} rows per lease: the lease-ahead window) ${fmt(sql)} rows/s; the dispatcher reached ${fmt((t.perSecond / floor) * 100, 1)} % of the lower`,
      `forced crash: ${c.expected} deliveries, the dispatcher process SIGKILLed after ${c.atKill} had arrived, a second one took over (WEBHOOK_LEASE 3 s):`,
      `  delivered ${c.delivered}, lost ${c.lost}, duplicates ${c.duplicates} (each an (endpoint, webhook-id) that arrived more than once)`,
      '',
      `VERDICT: ${verdict(latency.p99 <= TARGET_P99_MS)}: idle p99 ${fmt(latency.p99, 1)} ms commit → delivery (target ≤ ${TARGET_P99_MS} ms)`,
      `VERDICT: ${verdict(t.perSecond >= TARGET_PER_SECOND && t.lost === 0 && t.duplicates === 0)}: ${fmt(t.perSecond)} deliveries/s sustained, ${t.lost} lost, ${t.duplicates} duplicates (target ≥ ${TARGET_PER_SECOND}/s, 0 lost, 0 duplicates)`,
      `VERDICT: ${verdict(c.lost === 0)}: after a forced crash ${c.lost} lost, ${c.duplicates} duplicates (target 0 lost; duplicates allowed, reported)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    progress('shutting down');
    await app?.close();
    await receiver.close();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
