/**
 * `npm run bench:webhooks`: webhook delivery, from an event's commit to a local receiver.
 * One app instance in this process on a dedicated database, a fast HTTP receiver (keep-alive,
 * answers 200 at once) in this process, WEBHOOK_ALLOW_PRIVATE_NETWORKS on.
 *
 * 1. Idle latency: BENCH_WEBHOOK_SAMPLES (default 300) keys created one at a time through the
 *    command bus; each timed from the command's return (its commit is just before) until the
 *    receiver has its key.created. Target: p99 ≤ 100 ms.
 * 2. Throughput: BENCH_WEBHOOK_KEYS (default 5,000) key.created events appended 16 at a time,
 *    each delivered to BENCH_WEBHOOK_ENDPOINTS (default 4) platform-wide endpoints; deliveries/s
 *    from the first delivery to the last. Target: ≥ 1,000/s, 0 lost; duplicates counted.
 *
 * Env as the other benches: DATABASE_URL / DATA_DIR (default ./.data/bench, embedded PostgreSQL
 * on port 54339); WEBHOOK_* as the app reads them. Results go to stdout, progress to stderr.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AppModule } from '../src/app.module.js';
import { EventStore } from '../src/event-store/index.js';
import { SYSTEM_ACTOR } from '../src/keys/index.js';
import { WebhookEndpoints } from '../src/webhooks/index.js';
import { benchAppConfig, issueBenchKey, startBenchApp, type BenchApp } from './support/bench-app.js';
import { distribution, envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { describeServer, openDedicatedDatabase } from './support/dedicated-database.js';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { keyCreated, requestMetadata, secretHash } from './support/key-events.js';

const TARGET_P99_MS = 100;
const TARGET_PER_SECOND = 1000;
const DATABASE = 'keyledger_bench_webhooks';
const APPEND_CONCURRENCY = 16;
const GIVE_UP_MS = 120_000;

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

async function throughput(app: BenchApp, receiver: Receiver, keys: number, endpointCount: number) {
  const endpoints = app.app.get(WebhookEndpoints);
  const paths: string[] = [];
  for (let i = 0; i < endpointCount; i++) {
    paths.push(`/load-${i}`);
    await endpoints.create({ url: `${receiver.url}/load-${i}`, eventTypes: ['key.created'] }, { actor: SYSTEM_ACTOR, requestId: 'bench' });
  }
  const store = app.app.get(EventStore);
  const eventIds: string[] = [];
  const started = performance.now();
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
  const appended = performance.now();
  progress(`appended ${keys} events in ${fmt(appended - started)} ms; waiting for ${keys * endpointCount} deliveries`);
  const expected = paths.flatMap((p) => eventIds.map((id) => `${p} msg_${id}`));
  const loadArrivals = (): number => [...receiver.arrivals.keys()].filter((k) => k.startsWith('/load-')).length;
  await waitFor(() => loadArrivals() >= expected.length, 'every delivery', GIVE_UP_MS);
  const lost = expected.filter((id) => !receiver.arrivals.has(id)).length;
  let duplicates = 0;
  let first = Infinity;
  let last = 0;
  for (const id of expected) {
    const at = receiver.arrivals.get(id);
    if (!at) continue;
    duplicates += at.length - 1;
    first = Math.min(first, at[0]);
    last = Math.max(last, at[0]);
  }
  const delivered = expected.length - lost;
  return {
    delivered,
    lost,
    duplicates,
    appendMs: appended - started,
    spanMs: last - first,
    totalMs: last - started,
    perSecond: (delivered / (last - first)) * 1000,
  };
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
    app = await startBenchApp(AppModule.forRoot(config, database.url));
    const w = config.webhooks;
    progress(`idle latency: ${samples} keys, one at a time`);
    const latency = distribution(await idleLatency(app, receiver, samples));
    progress(`throughput: ${keys} events × ${endpointCount} endpoints`);
    const t = await throughput(app, receiver, keys, endpointCount);
    const lines = [
      `keyledger webhook delivery benchmark: ${machineLine()}; ${server}`,
      `one app instance and a local receiver (keep-alive, answers 200 at once) in one process; WEBHOOK_ENDPOINT_CONCURRENCY=${w.concurrency}, WEBHOOK_POLL=${w.pollMs} ms, PROJECTION_POLL_MS=${config.projectionPollMs}`,
      '',
      `idle, ${samples} keys one at a time, ms from the create command's return (after its commit) to the receiver having its key.created:`,
      `  p50 ${fmt(latency.p50, 1)} | p95 ${fmt(latency.p95, 1)} | p99 ${fmt(latency.p99, 1)} | max ${fmt(latency.max, 1)} | mean ${fmt(latency.mean, 1)}`,
      `throughput: ${keys} key.created appended ${APPEND_CONCURRENCY} at a time (${fmt(t.appendMs)} ms), × ${endpointCount} endpoints = ${keys * endpointCount} deliveries:`,
      `  delivered ${t.delivered}, lost ${t.lost}, duplicates ${t.duplicates}; ${fmt(t.perSecond)} deliveries/s from the first delivery to the last (${fmt(t.spanMs)} ms), ${fmt(t.totalMs)} ms from the first append`,
      '',
      `VERDICT: ${verdict(latency.p99 <= TARGET_P99_MS)}: idle p99 ${fmt(latency.p99, 1)} ms commit → delivery (target ≤ ${TARGET_P99_MS} ms)`,
      `VERDICT: ${verdict(t.perSecond >= TARGET_PER_SECOND && t.lost === 0)}: ${fmt(t.perSecond)} deliveries/s sustained, ${t.lost} lost, ${t.duplicates} duplicates (target ≥ ${TARGET_PER_SECOND}/s, 0 lost)`,
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
