/**
 * `npm run bench:propagation`: how long a revoked key stays usable on another instance. Two app
 * instances, A and B, in this process on one dedicated database; each revocation goes through
 * A's HTTP API (POST /admin/api-keys/:id/revoke) and is timed from A's response until B's
 * KeyVerifier (what B's guard calls) refuses the key, polled in a tight setImmediate loop.
 *
 * Env: BENCH_REVOCATIONS (measured, default 500), BENCH_WARMUP_REVOCATIONS (default 20),
 * DATABASE_URL / DATA_DIR (default ./.data/bench, embedded PostgreSQL on port 54339).
 * Results go to stdout, progress to stderr.
 */
import 'reflect-metadata';
import { performance } from 'node:perf_hooks';
import { KeyVerifier } from '@keyledger/nestjs';
import { issueBenchKey, type BenchApp } from './support/bench-app.js';
import { distribution, envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { withTwoInstances } from './support/dedicated-database.js';

/** p99 of response → refused on B must be at most this. */
const TARGET_P99_MS = 25;
const DATABASE = 'keyledger_bench_propagation';
/** A key still accepted on B this long after A's response counts as never propagated. */
const GIVE_UP_MS = 5_000;
/** Keys are issued this many at a time. */
const ISSUE_CONCURRENCY = 8;

const progress = progressFor('bench:propagation');

interface Key {
  keyId: string;
  token: string;
}

interface Sample {
  /** A's revoke response received → B refuses the key (the first check's few µs when B already refused it). */
  afterResponseMs: number;
  /** B refused the key at the first check, made as soon as A's response was in. */
  alreadyRefused: boolean;
  /** Revoke request sent → B refuses the key. */
  afterRequestMs: number;
  /** The revoke request's own round trip. */
  requestMs: number;
}

async function issueKeys(app: BenchApp, count: number, label: string): Promise<Key[]> {
  const keys: Key[] = [];
  for (let i = 0; i < count; i += ISSUE_CONCURRENCY) {
    const batch = Array.from({ length: Math.min(ISSUE_CONCURRENCY, count - i) }, (_, j) =>
      issueBenchKey(app.app, {
        tenantId: `tenant-${(i + j) % 50}`,
        name: `${label} ${i + j}`,
        scopes: ['orders:read'],
        tags: { env: 'production' },
      }),
    );
    for (const key of await Promise.all(batch)) keys.push({ keyId: key.keyId, token: key.token });
  }
  return keys;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Resolves with the time B first refuses the token and how many checks it took, checking once per event-loop turn. */
function refusedOn(verifier: KeyVerifier, token: string, giveUpAt: number): Promise<{ at: number; checks: number }> {
  let checks = 0;
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const now = performance.now();
      checks++;
      if (verifier.verify(token).code !== 'VALID') return resolve({ at: now, checks });
      if (now > giveUpAt) return reject(new Error(`B still accepts a key ${GIVE_UP_MS} ms after its revocation`));
      setImmediate(check);
    };
    check();
  });
}

async function revokeAndWatch(a: BenchApp, adminToken: string, b: KeyVerifier, key: Key): Promise<Sample> {
  const sent = performance.now();
  const response = await fetch(`${a.url}/admin/api-keys/${key.keyId}/revoke`, {
    method: 'POST',
    headers: { 'x-api-key': adminToken, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: 'propagation bench' }),
  });
  const responded = performance.now();
  const refused = await refusedOn(b, key.token, responded + GIVE_UP_MS);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`revoke returned ${response.status}: ${text}`);
  return {
    afterResponseMs: refused.at - responded,
    alreadyRefused: refused.checks === 1,
    afterRequestMs: refused.at - sent,
    requestMs: responded - sent,
  };
}

async function main(): Promise<void> {
  const count = Math.round(envSeconds('BENCH_REVOCATIONS', 500, 1));
  const warmupCount = Math.round(envSeconds('BENCH_WARMUP_REVOCATIONS', 20, 0));

  await withTwoInstances(DATABASE, progress, async ({ a, b, server }) => {
    const verifierA = a.app.get(KeyVerifier);
    const verifierB = b.app.get(KeyVerifier);

    const admin = await issueBenchKey(a.app, { tenantId: 'platform', name: 'propagation bench admin', scopes: ['admin'] });
    progress(`issuing ${count + warmupCount} keys through A's command bus`);
    const keys = await issueKeys(a, count + warmupCount, 'propagation bench key');
    await waitFor(() => verifierA.verify(admin.token).code === 'VALID', 'the admin key on A');
    await waitFor(() => keys.every((k) => verifierB.verify(k.token).code === 'VALID'), 'every key on B');
    progress(`all ${keys.length} keys are valid on B (${verifierB.status().keys} keys in its replica)`);

    progress(`warm-up: ${warmupCount} revocations`);
    for (const key of keys.slice(0, warmupCount)) await revokeAndWatch(a, admin.token, verifierB, key);
    progress(`measuring: ${count} revocations, one at a time`);
    const samples: Sample[] = [];
    for (const [i, key] of keys.slice(warmupCount).entries()) {
      samples.push(await revokeAndWatch(a, admin.token, verifierB, key));
      if ((i + 1) % 100 === 0) progress(`${i + 1} revocations`);
    }

    const after = distribution(samples.map((s) => s.afterResponseMs));
    const fromRequest = distribution(samples.map((s) => s.afterRequestMs));
    const request = distribution(samples.map((s) => s.requestMs));
    const already = samples.filter((s) => s.alreadyRefused).length;
    const row = (label: string, d: ReturnType<typeof distribution>): string =>
      `${label.padEnd(40)} | ${[d.p50, d.p95, d.p99, d.max, d.mean].map((v) => fmt(v, 2).padStart(7)).join(' | ')}`;
    const lines = [
      `keyledger revocation propagation benchmark: ${machineLine()}; ${server}`,
      `two app instances (A, B) in one process on one database; ${count} revocations through A's HTTP API after ${warmupCount} warm-up ones;` +
        ` B's KeyVerifier.verify polled once per event-loop turn (setImmediate)`,
      '',
      'ms                                       |     p50 |     p95 |     p99 |     max |    mean',
      row("A's revoke response → B refuses the key", after),
      row('revoke request sent → B refuses the key', fromRequest),
      row('revoke request round trip (on A)', request),
      '',
      `${already} of ${count} keys were already refused by B at the first check after A's response`,
      `VERDICT: ${verdict(after.p99 <= TARGET_P99_MS)}: p99 ${fmt(after.p99, 2)} ms from A's response until B refuses (target ≤ ${TARGET_P99_MS} ms)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
