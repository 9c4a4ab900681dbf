/**
 * `npm run bench:http`: the whole request path with and without the guard. One app instance (the
 * real AppModule, built as main.ts builds it) on a dedicated database, plus a bench-only
 * controller with two routes returning the same body as `GET /examples/whoami`: one unguarded,
 * one behind `@RequireApiKey()`. The verdict compares those two. whoami itself (the guard plus
 * `@CurrentApiKey()`, which Nest runs through the app's global pipes) is measured beside them.
 * autocannon, in a forked child process, drives each route at a fixed connection count.
 *
 * Env: BENCH_SECONDS (measured seconds per route, default 30: the ratio of one 10 s run drifts by ±5 points), BENCH_ROUNDS (rounds they are
 * split into, the order rotating each round, default 5), BENCH_WARMUP_SECONDS (per route, default
 * 5), BENCH_CONNECTIONS (default 50), DIGESTER (the guard's HMAC implementation: js or node;
 * default the package's, see docs/adr/0002-token-digester.md), DATABASE_URL / DATA_DIR (default
 * ./.data/bench, embedded PostgreSQL on port 54339). Results go to stdout, progress to stderr.
 */
import 'reflect-metadata';
import { Controller, Get, Module, type DynamicModule } from '@nestjs/common';
import { KeyVerifier, RequireApiKey, TOKEN_DIGESTERS, type ApiKeyPrincipal, type TokenDigesterName } from '@keyledger/nestjs';
import { AppModule } from '../src/app.module.js';
import type { AppConfig } from '../src/config/index.js';
import { AutocannonRunner, type LoadResult } from './support/autocannon-runner.js';
import { benchAppConfig, issueBenchKey, startBenchApp } from './support/bench-app.js';
import { envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { describeServer, openDedicatedDatabase } from './support/dedicated-database.js';

/** guarded req/s must reach this share of unguarded req/s. */
const TARGET = 0.85;
const DATABASE = 'keyledger_bench_http';
const PATHS = { guarded: '/bench/guarded', whoami: '/examples/whoami', unguarded: '/bench/unguarded' } as const;
type Route = keyof typeof PATHS;
const ROUTES = Object.keys(PATHS) as Route[];

const progress = progressFor('bench:http');

/** What the unguarded route returns: the principal whoami returns for the bench key. */
const body: { principal: ApiKeyPrincipal | undefined } = { principal: undefined };

/** Bench-only: the same body as whoami, with the guard alone and with nothing. */
@Controller('bench')
class BenchController {
  @Get('guarded')
  @RequireApiKey()
  guarded(): ApiKeyPrincipal {
    return body.principal!;
  }

  @Get('unguarded')
  unguarded(): ApiKeyPrincipal {
    return body.principal!;
  }
}

@Module({})
class HttpBenchModule {
  static forRoot(config: AppConfig, url: string): DynamicModule {
    return { module: HttpBenchModule, imports: [AppModule.forRoot(config, url)], controllers: [BenchController] };
  }
}

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

/** DIGESTER, or undefined for the package's default. */
function digesterFromEnv(): TokenDigesterName | undefined {
  const raw = process.env.DIGESTER?.trim();
  if (raw === undefined || raw === '') return undefined;
  const name = TOKEN_DIGESTERS.find((d) => d === raw);
  if (name === undefined) throw new Error(`DIGESTER must be one of ${TOKEN_DIGESTERS.join(', ')}, got "${raw}"`);
  return name;
}

async function main(): Promise<void> {
  const measured = envSeconds('BENCH_SECONDS', 30, 10);
  const warmup = envSeconds('BENCH_WARMUP_SECONDS', 5, 0);
  const rounds = Math.round(envSeconds('BENCH_ROUNDS', 5, 1));
  const connections = Math.round(envSeconds('BENCH_CONNECTIONS', 50, 1));
  const digester = digesterFromEnv();

  const database = await openDedicatedDatabase(DATABASE, progress);
  let runner: AutocannonRunner | undefined;
  let close: (() => Promise<void>) | undefined;
  try {
    const server = await describeServer(database.url);
    const config = { ...benchAppConfig(database.config), guardDigester: digester };
    const instance = await startBenchApp(HttpBenchModule.forRoot(config, database.url));
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
    const answers = await Promise.all(ROUTES.map((route) => fetchText(instance.url + PATHS[route], headers)));
    const anonymous = await Promise.all([fetchText(instance.url + PATHS.guarded), fetchText(instance.url + PATHS.whoami)]);
    const sameBody = answers.every((a) => a.status === 200 && a.text === answers[0].text);
    if (!sameBody || anonymous.some((a) => a.status !== 401)) {
      throw new Error(`route check failed: ${JSON.stringify({ answers, anonymous: anonymous.map((a) => a.status) })}`);
    }
    const bytes = Buffer.byteLength(answers[0].text);
    progress(`all three routes return the same ${bytes} bytes; without a key the guarded ones are a 401`);

    runner = new AutocannonRunner();
    const run = async (route: Route, seconds: number): Promise<Segment> => {
      const cpu = process.cpuUsage();
      const load = await runner!.run({ url: instance.url + PATHS[route], connections, seconds, headers });
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
      for (const route of ROUTES) await run(route, warmup / 2);
    }
    const segments: Record<Route, Segment[]> = { guarded: [], whoami: [], unguarded: [] };
    const roundRatios: Record<'guarded' | 'whoami', number[]> = { guarded: [], whoami: [] };
    const segmentSeconds = measured / rounds;
    progress(`measuring ${rounds} rounds of ${segmentSeconds} s per route at ${connections} connections, rotating which goes first`);
    for (let r = 0; r < rounds; r++) {
      const order = ROUTES.map((_, i) => ROUTES[(i + r) % ROUTES.length]);
      for (const route of order) segments[route].push(await run(route, segmentSeconds));
      const rate = (route: Route): number => segments[route][r].load.requests / segments[route][r].load.seconds;
      roundRatios.guarded.push(rate('guarded') / rate('unguarded'));
      roundRatios.whoami.push(rate('whoami') / rate('unguarded'));
    }

    const totals = { guarded: combine(segments.guarded), whoami: combine(segments.whoami), unguarded: combine(segments.unguarded) };
    const u = totals.unguarded;
    const ratio = totals.guarded.perSecond / u.perSecond;
    const clean = ROUTES.every((route) => totals[route].bad === 0);
    const pct = (n: number): string => `${fmt(n * 100, 1)} %`;
    const spread = (ratios: number[]): string => {
      const sorted = [...ratios].sort((a, b) => a - b);
      return `median ${pct(sorted[Math.floor(sorted.length / 2)])}, min ${pct(sorted[0])}, max ${pct(sorted[sorted.length - 1])}`;
    };
    const labels: Record<Route, string> = {
      guarded: `GET ${PATHS.guarded} (guard)`,
      whoami: `GET ${PATHS.whoami} (guard+param)`,
      unguarded: `GET ${PATHS.unguarded} (none)`,
    };
    const line = (route: Route): string => {
      const t = totals[route];
      return `${labels[route].padEnd(36)} | ${fmt(t.perSecond).padStart(6)} | ${fmt(t.requests).padStart(9)} | ${fmt(t.seconds, 1).padStart(5)} s | ${fmt(t.p50, 1).padStart(6)} | ${fmt(t.p99, 1).padStart(6)} | ${fmt(t.cpuUs, 1).padStart(9)} | ${t.bad}`;
    };
    const adds = (route: Route): string =>
      `${fmt(totals[route].cpuUs - u.cpuUs, 1)} µs (${pct(totals[route].cpuUs / u.cpuUs - 1)}), of which ${fmt(totals[route].systemUs - u.systemUs, 1)} µs in the kernel`;
    const lines = [
      `keyledger HTTP guard benchmark: ${machineLine()}; ${database.embedded ? 'embedded' : 'external'} ${server}`,
      `one app instance (AppModule + a bench-only controller, Fastify) in this process; autocannon in a child process, ${connections} connections;` +
        ` ${measured} s measured per route in ${rounds} rotating rounds, after ${warmup} s warm-up per route; response body ${bytes} B;` +
        ` guard digester ${digester ?? 'default (js)'}; usage recording ${
          config.usageFlushMs === null ? 'off (USAGE_FLUSH_MS=off)' : `on (flushed every ${config.usageFlushMs} ms)`
        }`,
      '',
      'route                                | req/s  | requests  | time    | p50 ms | p99 ms | CPU µs/req | non-2xx+errors',
      ...ROUTES.map(line),
      '',
      `guarded/unguarded req/s: ${pct(ratio)} overall; per round: ${spread(roundRatios.guarded)}`,
      `whoami/unguarded req/s:  ${pct(totals.whoami.perSecond / u.perSecond)} overall; per round: ${spread(roundRatios.whoami)}`,
      `server CPU per request: unguarded ${fmt(u.cpuUs, 1)} µs; the guard adds ${adds('guarded')}; guard+@CurrentApiKey() adds ${adds('whoami')}`,
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
