/**
 * `npm run bench:http`: the whole request path with and without the guard. One app instance (the
 * real AppModule, built as main.ts builds it) on a dedicated database, plus a bench-only
 * controller with an unguarded route returning the same body as the guarded `GET /examples/whoami`.
 * autocannon, in a forked child process, drives each route at a fixed connection count.
 *
 * Env: BENCH_SECONDS (measured seconds per route, default 10), BENCH_ROUNDS (alternating rounds
 * they are split into, default 5), BENCH_WARMUP_SECONDS (per route, default 5), BENCH_CONNECTIONS (default 50),
 * DATABASE_URL / DATA_DIR (default ./.data/bench, embedded PostgreSQL on port 54339).
 * Results go to stdout, progress to stderr.
 */
import 'reflect-metadata';
import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import type { ApiKeyPrincipal } from '../src/auth/api-key-principal.js';
import { KeyVerifier } from '../src/auth/key-verifier.js';
import { AppModule } from '../src/app.module.js';
import type { AppConfig } from '../src/config/config.js';
import { AutocannonRunner, type LoadResult } from './support/autocannon-runner.js';
import { benchAppConfig, issueBenchKey, startBenchApp } from './support/bench-app.js';
import { envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { describeServer, openDedicatedDatabase } from './support/dedicated-database.js';

/** guarded req/s must reach this share of unguarded req/s. */
const TARGET = 0.85;
const DATABASE = 'keyledger_bench_http';
const GUARDED_PATH = '/examples/whoami';
const UNGUARDED_PATH = '/bench/unguarded';

const progress = progressFor('bench:http');

/** What the unguarded route returns: the principal whoami returns for the bench key. */
const body: { principal: ApiKeyPrincipal | undefined } = { principal: undefined };

/** Bench-only: the same body as whoami, with no guard, no decorator, no verification. */
@Controller('bench')
class UnguardedController {
  @Get('unguarded')
  unguarded(): ApiKeyPrincipal {
    return body.principal!;
  }
}

@Module({})
class HttpBenchModule {
  static forRoot(config: AppConfig, url: string): DynamicModule {
    return { module: HttpBenchModule, imports: [AppModule.forRoot(config, url)], controllers: [UnguardedController] };
  }
}

type Route = 'guarded' | 'unguarded';

async function waitUntilValid(verifier: KeyVerifier, token: string): Promise<ApiKeyPrincipal> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const result = verifier.verify(token);
    if (result.code === 'VALID') return result.principal;
    if (Date.now() > deadline) throw new Error(`the bench key never became valid in the replica (${result.code})`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function fetchText(url: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, text: await response.text() };
}

interface Segment {
  load: LoadResult;
  /** CPU time this process (the server) used during the segment, in ms. */
  cpuMs: number;
  /** Of which in the kernel (sockets, wake-ups), in ms. */
  systemMs: number;
}

interface Totals {
  perSecond: number;
  requests: number;
  seconds: number;
  bad: number;
  p50: number;
  p99: number;
  /** Server CPU per request, in µs: what a request costs, almost independent of other load on the machine. */
  cpuUs: number;
  /** The kernel's part of cpuUs. */
  systemUs: number;
}

function combine(segments: readonly Segment[]): Totals {
  const results = segments.map((s) => s.load);
  const requests = results.reduce((n, r) => n + r.requests, 0);
  const seconds = results.reduce((n, r) => n + r.seconds, 0);
  const bad = results.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
  // Latency percentiles of the segments, weighted by their request counts (an approximation of the merged histogram).
  const weighted = (pick: (r: LoadResult) => number): number => results.reduce((n, r) => n + pick(r) * r.requests, 0) / requests;
  const cpuMs = segments.reduce((n, s) => n + s.cpuMs, 0);
  const systemMs = segments.reduce((n, s) => n + s.systemMs, 0);
  return {
    perSecond: requests / seconds,
    requests,
    seconds,
    bad,
    p50: weighted((r) => r.latencyP50),
    p99: weighted((r) => r.latencyP99),
    cpuUs: (cpuMs * 1000) / requests,
    systemUs: (systemMs * 1000) / requests,
  };
}

async function main(): Promise<void> {
  const measured = envSeconds('BENCH_SECONDS', 10, 10);
  const warmup = envSeconds('BENCH_WARMUP_SECONDS', 5, 0);
  const rounds = Math.round(envSeconds('BENCH_ROUNDS', 5, 1));
  const connections = Math.round(envSeconds('BENCH_CONNECTIONS', 50, 1));

  const database = await openDedicatedDatabase(DATABASE, progress);
  let runner: AutocannonRunner | undefined;
  let close: (() => Promise<void>) | undefined;
  try {
    const server = await describeServer(database.url);
    const instance = await startBenchApp(HttpBenchModule.forRoot(benchAppConfig(database.config), database.url));
    close = () => instance.close();
    const key = await issueBenchKey(instance.app, {
      tenantId: 'bench-tenant',
      name: 'http bench key',
      scopes: ['orders:read', 'reports:read'],
      tags: { env: 'production', team: 'payments' },
    });
    body.principal = await waitUntilValid(instance.app.get(KeyVerifier), key.token);
    const headers = { 'x-api-key': key.token };

    // Same status, same bytes; and the guard really guards.
    const guarded = await fetchText(instance.url + GUARDED_PATH, headers);
    const unguarded = await fetchText(instance.url + UNGUARDED_PATH, headers);
    const anonymous = await fetchText(instance.url + GUARDED_PATH);
    if (guarded.status !== 200 || unguarded.status !== 200 || guarded.text !== unguarded.text || anonymous.status !== 401) {
      throw new Error(`route check failed: ${JSON.stringify({ guarded, unguarded, anonymous: anonymous.status })}`);
    }
    progress(`both routes return the same ${Buffer.byteLength(guarded.text)} bytes; without a key the guarded one is a 401`);

    runner = new AutocannonRunner();
    const run = async (route: Route, seconds: number): Promise<Segment> => {
      const url = instance.url + (route === 'guarded' ? GUARDED_PATH : UNGUARDED_PATH);
      const cpu = process.cpuUsage();
      const load = await runner!.run({ url, connections, seconds, headers });
      const used = process.cpuUsage(cpu);
      const cpuMs = (used.user + used.system) / 1000;
      const systemMs = used.system / 1000;
      progress(
        `${route}: ${fmt(load.requests / load.seconds)} req/s over ${load.seconds} s, server CPU ${fmt((cpuMs * 1000) / load.requests, 1)} µs/req` +
          ` (non-2xx ${load.non2xx}, errors ${load.errors})`,
      );
      return { load, cpuMs, systemMs };
    };
    progress(`autocannon in child process ${runner.pid}; warm-up ${warmup} s per route`);
    for (let w = 0; w < 2 && warmup > 0; w++) {
      await run('guarded', warmup / 2);
      await run('unguarded', warmup / 2);
    }
    const segments: Record<Route, Segment[]> = { guarded: [], unguarded: [] };
    const roundRatios: number[] = [];
    const segmentSeconds = measured / rounds;
    progress(`measuring ${rounds} rounds of ${segmentSeconds} s per route at ${connections} connections, alternating which goes first`);
    for (let r = 0; r < rounds; r++) {
      const order: Route[] = r % 2 === 0 ? ['guarded', 'unguarded'] : ['unguarded', 'guarded'];
      for (const route of order) segments[route].push(await run(route, segmentSeconds));
      const rate = (route: Route): number => segments[route][r].load.requests / segments[route][r].load.seconds;
      roundRatios.push(rate('guarded') / rate('unguarded'));
    }

    const g = combine(segments.guarded);
    const u = combine(segments.unguarded);
    const ratio = g.perSecond / u.perSecond;
    const clean = g.bad === 0 && u.bad === 0;
    const sorted = [...roundRatios].sort((a, b) => a - b);
    const pct = (n: number): string => `${fmt(n * 100, 1)} %`;
    const line = (label: string, t: Totals): string =>
      `${label.padEnd(28)} | ${fmt(t.perSecond).padStart(6)} | ${fmt(t.requests).padStart(9)} | ${fmt(t.seconds, 1).padStart(5)} s | ${fmt(t.p50, 1).padStart(6)} | ${fmt(t.p99, 1).padStart(6)} | ${fmt(t.cpuUs, 1).padStart(9)} | ${t.bad}`;
    const lines = [
      `keyledger HTTP guard benchmark: ${machineLine()}; ${database.embedded ? 'embedded' : 'external'} ${server}`,
      `one app instance (AppModule + a bench-only unguarded controller, Fastify) in this process; autocannon in a child process, ${connections} connections;` +
        ` ${measured} s measured per route in ${rounds} alternating rounds, after ${warmup} s warm-up per route; response body ${Buffer.byteLength(guarded.text)} B`,
      '',
      'route                        | req/s  | requests  | time    | p50 ms | p99 ms | CPU µs/req | non-2xx+errors',
      line(`GET ${GUARDED_PATH} (guard)`, g),
      line(`GET ${UNGUARDED_PATH} (none)`, u),
      '',
      `guarded/unguarded req/s: ${pct(ratio)} overall; per round: median ${pct(sorted[Math.floor(sorted.length / 2)])}, min ${pct(sorted[0])}, max ${pct(sorted[sorted.length - 1])}`,
      `server CPU per request: guard adds ${fmt(g.cpuUs - u.cpuUs, 1)} µs (${pct(g.cpuUs / u.cpuUs - 1)}); CPU-bound ratio unguarded/guarded µs = ${pct(u.cpuUs / g.cpuUs)}`,
      `  of which in the kernel: guarded ${fmt(g.systemUs, 1)} µs, unguarded ${fmt(u.systemUs, 1)} µs per request (+${fmt(g.systemUs - u.systemUs, 1)} µs)`,
      `VERDICT: ${verdict(ratio >= TARGET && clean)}: guarded/unguarded = ${pct(ratio)} of req/s (target ≥ ${TARGET * 100} %)` +
        (clean ? '' : '; some requests failed'),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    progress('shutting down');
    await runner?.close();
    await close?.();
    await database.stop();
  }
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
