/**
 * `npm run bench:first-use`: a key created through A's HTTP API and used at once, with no retry,
 * on A itself and on another instance B (whose replica may not have heard of it yet: its guard
 * looks the key up). Prints the success rate (target 100 %) and the time from the create's
 * response to the accepted request (target p99 ≤ 25 ms on B).
 *
 * Env: BENCH_CREATES (per instance, default 500), BENCH_WARMUP_CREATES (default 20),
 * DATABASE_URL / DATA_DIR (default ./.data/bench, embedded PostgreSQL on port 54339).
 * Results go to stdout, progress to stderr.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { issueBenchKey, type BenchApp } from './support/bench-app.js';
import { distribution, envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { withTwoInstances } from './support/dedicated-database.js';

const TARGET_P99_MS = 25;
const DATABASE = 'keyledger_bench_first_use';
const progress = progressFor('bench:first-use');

interface Sample {
  accepted: boolean;
  /** The create's response received → the first request with the new key answered. */
  afterResponseMs: number;
}

async function createThenUse(a: BenchApp, on: BenchApp, adminToken: string, i: number): Promise<Sample> {
  const created = await fetch(`${a.url}/admin/api-keys`, {
    method: 'POST',
    headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
    body: JSON.stringify({ tenantId: `tenant-${i % 50}`, name: `first-use ${i}`, scopes: ['orders:read'] }),
  });
  const body = (await created.json()) as { key?: string };
  if (created.status !== 201 || typeof body.key !== 'string') throw new Error(`create returned ${created.status}`);
  const responded = performance.now();
  const used = await fetch(`${on.url}/examples/whoami`, { headers: { authorization: `Bearer ${body.key}` } });
  await used.arrayBuffer();
  return { accepted: used.status === 200, afterResponseMs: performance.now() - responded };
}

async function main(): Promise<void> {
  const count = Math.round(envSeconds('BENCH_CREATES', 500, 1));
  const warmupCount = Math.round(envSeconds('BENCH_WARMUP_CREATES', 20, 0));
  await withTwoInstances(DATABASE, progress, async ({ a, b, server }) => {
    const admin = await issueBenchKey(a.app, { tenantId: 'platform', name: 'first-use bench admin', scopes: ['admin'] });

    const results: Record<'A' | 'B', Sample[]> = { A: [], B: [] };
    for (const [label, on] of [
      ['A', a],
      ['B', b],
    ] as const) {
      progress(`warm-up: ${warmupCount} creates used on ${label}`);
      for (let i = 0; i < warmupCount; i++) await createThenUse(a, on, admin.token, i);
      progress(`measuring: ${count} creates on A, each used at once on ${label}`);
      for (let i = 0; i < count; i++) {
        results[label].push(await createThenUse(a, on, admin.token, i));
        if ((i + 1) % 100 === 0) progress(`${i + 1} on ${label}`);
      }
    }

    const lines = [
      `keyledger first-use benchmark: ${machineLine()}; ${server}`,
      `two app instances (A, B) in one process on one database; ${count} keys created through A's HTTP API per row, each used once,` +
        ' at once, on GET /examples/whoami (no retry)',
      '',
      'used on                       | accepted | p50 ms | p95 ms | p99 ms | max ms',
    ];
    let pass = true;
    for (const label of ['A', 'B'] as const) {
      const samples = results[label];
      const accepted = samples.filter((s) => s.accepted).length;
      const d = distribution(samples.filter((s) => s.accepted).map((s) => s.afterResponseMs));
      const where = label === 'A' ? 'A (the creating instance)' : 'B (another instance)';
      lines.push(
        `${where.padEnd(29)} | ${`${fmt((100 * accepted) / samples.length, 1)} %`.padStart(8)} | ${[d.p50, d.p95, d.p99, d.max].map((v) => fmt(v, 2).padStart(6)).join(' | ')}`,
      );
      pass &&= accepted === samples.length;
      if (label === 'B') pass &&= d.p99 <= TARGET_P99_MS;
    }
    const b99 = distribution(results.B.map((s) => s.afterResponseMs)).p99;
    lines.push(
      '',
      `VERDICT: ${verdict(pass)}: success 100 % on both (target 100 %); p99 on B ${fmt(b99, 2)} ms from the create's response to an accepted request (target ≤ ${TARGET_P99_MS} ms)`,
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
