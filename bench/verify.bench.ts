/**
 * `npm run bench:verify`: KeyReplica.verify on a warm replica of 100k keys against the physical
 * limit measured in the same run, in the same process: a bare loop checking the token's shape, a Map lookup,
 * one HMAC-SHA-256 with the pepper and a constant-time compare on the same token mix.
 * No database and no HTTP: this is the guard's in-memory hot path alone. KeyVerifier.verify, with
 * usage recording off and on (#18: it may cost 0.2 µs per verification), is measured beside it.
 *
 * Env: BENCH_SECONDS (measured seconds per side, default 6), BENCH_WARMUP_SECONDS (default 2),
 * BENCH_KEYS (default 100000). Results go to stdout, progress to stderr.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KeyVerifier, type KeyReplica } from '@keyledger/nestjs';
import { generateToken, hasValidChecksum, parseToken, tokenDigester, tokenPublicId } from '../src/token/index.js';
import { envSeconds, fmt, machineLine, progressFor, verdict } from './support/bench-env.js';
import { ReplicaRowFactory, flat, memoryOnlyReplica } from './support/replica-rows.js';

/** verify must reach this share of the bare loop's ops/s. */
const TARGET = 0.7;
/** What usage recording may add to a verification (#18). */
const USAGE_BUDGET_NS = 200;
const TENANTS = 1_000;
/** Mix size: large enough that the access pattern over 100k keys stays random, small enough to stay in cache-friendly arrays. */
const MIX_SIZE = 1 << 17;
/** Measured in alternating slices of this length, so both loops see the same machine noise. */
const SLICE_MS = 100;
/** The clock is read once per this many operations. */
const CHECK_EVERY = 256;

const progress = progressFor('bench:verify');

type Kind = 'valid' | 'unknown' | 'wrongSecret' | 'malformed';
const MIX: Record<Kind, number> = { valid: 0.95, unknown: 0.02, wrongSecret: 0.01, malformed: 0.02 };

/** The socket's address: one string per connection, the same on every request. */
const CLIENT_IP = flat('10.1.2.3');

/** Keeps the JIT from discarding results; printed so it is observably used. */
let sink = 0;

function corrupt(token: string, kind: number): string {
  switch (kind % 4) {
    case 0: {
      // One secret character changed: the CRC32 catches it.
      const i = token.length - 10;
      return token.slice(0, i) + (token[i] === 'a' ? 'b' : 'a') + token.slice(i + 1);
    }
    case 1:
      return token.slice(0, -1); // truncated
    case 2:
      return `Bearer ${token}`; // a header pasted whole
    default:
      return randomBytes(30).toString('base64url'); // garbage
  }
}

function buildMix(valid: readonly string[], publicIds: readonly string[]): { tokens: string[]; counts: Record<Kind, number> } {
  const counts: Record<Kind, number> = { valid: 0, unknown: 0, wrongSecret: 0, malformed: 0 };
  const tokens: string[] = [];
  for (let i = 0; i < MIX_SIZE; i++) {
    const r = Math.random();
    let kind: Kind = 'valid';
    if (r >= MIX.valid) {
      kind = r < MIX.valid + MIX.unknown ? 'unknown' : r < MIX.valid + MIX.unknown + MIX.wrongSecret ? 'wrongSecret' : 'malformed';
    }
    const k = Math.floor(Math.random() * valid.length);
    counts[kind]++;
    let token: string;
    if (kind === 'valid') token = valid[k];
    else if (kind === 'unknown') {
      token = generateToken().token;
    } // well-formed, checksum right, publicId not issued
    else if (kind === 'wrongSecret') {
      token = generateToken('kl_live', publicIds[k]).token;
    } // a known publicId, a guessed secret
    else token = corrupt(valid[k], i);
    tokens.push(flat(token)); // a header value is a flat string
  }
  return { tokens, counts };
}

type SliceResult = { ops: number; next: number; ms: number };

/**
 * Runs `chunk` (CHECK_EVERY operations from index `from`, returning a number the JIT cannot drop)
 * until `ms` have passed; the clock is read once per chunk.
 */
function runSlice(from: number, ms: number, chunk: (from: number) => number): SliceResult {
  const start = performance.now();
  const deadline = start + ms;
  let i = from;
  let ops = 0;
  let acc = 0;
  for (;;) {
    acc += chunk(i);
    i = (i + CHECK_EVERY) & (MIX_SIZE - 1);
    ops += CHECK_EVERY;
    const now = performance.now();
    if (now >= deadline) {
      sink += acc;
      return { ops, next: i, ms: now - start };
    }
  }
}

/** The hot path under test, called exactly as KeyVerifier calls it (the clock read included). */
function verifySlice(replica: KeyReplica, tokens: readonly string[], from: number, ms: number): SliceResult {
  return runSlice(from, ms, (i) => {
    let acc = 0;
    for (let n = 0; n < CHECK_EVERY; n++) acc += replica.verify(tokens[(i + n) & (MIX_SIZE - 1)]).code.length;
    return acc;
  });
}

/**
 * KeyVerifier.verify as the guard calls it (client IP and user agent given by a getter; each request's user
 * agent its own string): with usage recording on, each use of a key is recorded in memory.
 */
function verifierSlice(verifier: KeyVerifier, tokens: readonly string[], agents: readonly string[], from: number, ms: number): SliceResult {
  return runSlice(from, ms, (i) => {
    let acc = 0;
    for (let n = 0; n < CHECK_EVERY; n++) {
      const k = (i + n) & (MIX_SIZE - 1);
      acc += verifier.verify(tokens[k], undefined, undefined, () => ({ ip: CLIENT_IP, userAgent: agents[k] })).code.length;
    }
    return acc;
  });
}

/** The physical limit: nothing but the four unavoidable steps, in the order that does least work. */
function limitSlice(hashes: ReadonlyMap<string, Buffer>, pepper: Buffer, tokens: readonly string[], from: number, ms: number): SliceResult {
  const start = performance.now();
  const deadline = start + ms;
  let i = from;
  let ops = 0;
  let acc = 0;
  for (;;) {
    for (let n = 0; n < CHECK_EVERY; n++) {
      const token = tokens[i];
      i = (i + 1) & (MIX_SIZE - 1);
      const parsed = parseToken(token);
      if (!parsed.ok) {
        acc += 1;
        continue;
      }
      const stored = hashes.get(parsed.publicId);
      if (stored === undefined) {
        acc += 2;
        continue;
      }
      const digest = createHmac('sha256', pepper).update(token).digest();
      acc += timingSafeEqual(digest, stored) ? 3 : 4;
    }
    ops += CHECK_EVERY;
    const now = performance.now();
    if (now >= deadline) {
      sink += acc;
      return { ops, next: i, ms: now - start };
    }
  }
}

/**
 * The same four steps as the guard does them: the token's shape only (a matching digest proves
 * the checksum, which is checked only on the way to a refusal), the HMAC as tokenDigester computes
 * it (pads hashed once per pepper, three SHA-256 compressions in JS), the digest as a 32-char
 * latin1 string and a branch-free XOR compare: no Hmac object and no Buffer per call. The physical
 * limit is the faster of the two bare loops.
 */
function limitLatin1Slice(
  hashes: ReadonlyMap<string, string>,
  hmac: (token: string) => string,
  tokens: readonly string[],
  from: number,
  ms: number,
): SliceResult {
  const start = performance.now();
  const deadline = start + ms;
  let i = from;
  let ops = 0;
  let acc = 0;
  for (;;) {
    for (let n = 0; n < CHECK_EVERY; n++) {
      const token = tokens[i];
      i = (i + 1) & (MIX_SIZE - 1);
      const publicId = tokenPublicId(token);
      if (publicId === undefined) {
        acc += 1;
        continue;
      }
      const stored = hashes.get(publicId);
      if (stored === undefined) {
        acc += hasValidChecksum(token) ? 2 : 1;
        continue;
      }
      const digest = hmac(token);
      let diff = digest.length ^ stored.length;
      for (let c = 0; c < 32; c++) diff |= digest.charCodeAt(c) ^ stored.charCodeAt(c);
      acc += diff === 0 ? 3 : hasValidChecksum(token) ? 4 : 1;
    }
    ops += CHECK_EVERY;
    const now = performance.now();
    if (now >= deadline) {
      sink += acc;
      return { ops, next: i, ms: now - start };
    }
  }
}

type SideName = 'verify' | 'limit' | 'limitLatin1' | 'usageOff' | 'usageOn';
const SIDES: readonly SideName[] = ['verify', 'limit', 'limitLatin1', 'usageOff', 'usageOn'];

async function main(): Promise<void> {
  const measured = envSeconds('BENCH_SECONDS', 6, 5);
  const warmup = envSeconds('BENCH_WARMUP_SECONDS', 2, 0);
  const keyCount = Math.round(envSeconds('BENCH_KEYS', 100_000, 1));
  let aborted = false;
  process.once('SIGINT', () => {
    progress('interrupted: stopping after the current slice');
    aborted = true;
  });

  // The same form loadKeyPepper gives: the UTF-8 bytes of a 32-byte base64url secret.
  const pepper = Buffer.from(randomBytes(32).toString('base64url'), 'utf8');
  const replica = memoryOnlyReplica(pepper);
  // Never started (no onModuleInit): their pools never connect, their recorders never flush.
  const usageOff = new KeyVerifier({ databaseUrl: 'postgres://unused/none', recordUsage: false }, pepper);
  const usageOn = new KeyVerifier({ databaseUrl: 'postgres://unused/none' }, pepper);
  const hashes = new Map<string, Buffer>();
  const latin1Hashes = new Map<string, string>();
  const oneShotHmac = tokenDigester(pepper);
  const factory = new ReplicaRowFactory(pepper, TENANTS);
  const valid: string[] = [];
  const publicIds: string[] = [];
  progress(`issuing ${fmt(keyCount)} keys (generateToken + HMAC) and applying them to the replica`);
  for (let i = 0; i < keyCount; i++) {
    const { row, token } = factory.next();
    replica.apply(row);
    usageOff.replica.apply(row);
    usageOn.replica.apply(row);
    hashes.set(row.public_id, Buffer.from(row.secret_hash, 'hex'));
    latin1Hashes.set(row.public_id, Buffer.from(row.secret_hash, 'hex').toString('binary'));
    valid.push(token);
    publicIds.push(row.public_id);
  }
  const { tokens, counts } = buildMix(valid, publicIds);
  valid.length = 0;
  const agents = tokens.map(() => flat('payments-service/4.2.1 (node-fetch/3.3.2; +https://example.com) Node.js/20.19'));

  // The loops must give the same answers on the whole mix before their speed means anything.
  const outcome = { VALID: 0, NOT_FOUND: 0, MALFORMED: 0, other: 0 };
  let limitValid = 0;
  for (const token of tokens) {
    const code = replica.verify(token).code;
    if (code === 'VALID' || code === 'NOT_FOUND' || code === 'MALFORMED') outcome[code]++;
    else outcome.other++;
    const parsed = parseToken(token);
    const stored = parsed.ok ? hashes.get(parsed.publicId) : undefined;
    if (stored && timingSafeEqual(createHmac('sha256', pepper).update(token).digest(), stored)) limitValid++;
  }
  if (outcome.VALID !== counts.valid || limitValid !== counts.valid || outcome.MALFORMED !== counts.malformed || outcome.other !== 0) {
    throw new Error(`the loops disagree with the mix: ${JSON.stringify({ counts, outcome, limitValid })}`);
  }
  progress(`mix of ${fmt(MIX_SIZE)} tokens checks out: ${JSON.stringify(outcome)}`);

  const totals: Record<SideName, { ops: number; ms: number; cpuMs: number }> = {
    verify: { ops: 0, ms: 0, cpuMs: 0 },
    limit: { ops: 0, ms: 0, cpuMs: 0 },
    limitLatin1: { ops: 0, ms: 0, cpuMs: 0 },
    usageOff: { ops: 0, ms: 0, cpuMs: 0 },
    usageOn: { ops: 0, ms: 0, cpuMs: 0 },
  };
  const roundRatios: number[] = [];
  const at: Record<SideName, number> = {
    verify: 0,
    limit: MIX_SIZE / 5,
    limitLatin1: (2 * MIX_SIZE) / 5,
    usageOff: (3 * MIX_SIZE) / 5,
    usageOn: (4 * MIX_SIZE) / 5,
  };
  const slice = (side: SideName): SliceResult => {
    switch (side) {
      case 'verify':
        return verifySlice(replica, tokens, at.verify, SLICE_MS);
      case 'limit':
        return limitSlice(hashes, pepper, tokens, at.limit, SLICE_MS);
      case 'limitLatin1':
        return limitLatin1Slice(latin1Hashes, oneShotHmac, tokens, at.limitLatin1, SLICE_MS);
      case 'usageOff':
        return verifierSlice(usageOff, tokens, agents, at.usageOff, SLICE_MS);
      case 'usageOn':
        return verifierSlice(usageOn, tokens, agents, at.usageOn, SLICE_MS);
    }
  };
  /** One slice of each loop, in a rotating order; returns verify's rate over the faster bare loop's. */
  const round = (r: number, record: boolean): void => {
    const rates = {} as Record<SideName, number>;
    for (let k = 0; k < SIDES.length; k++) {
      const side = SIDES[(r + k) % SIDES.length];
      const cpu = process.cpuUsage();
      const result = slice(side);
      const used = process.cpuUsage(cpu);
      at[side] = result.next;
      rates[side] = result.ops / result.ms;
      if (record) {
        totals[side].ops += result.ops;
        totals[side].ms += result.ms;
        totals[side].cpuMs += (used.user + used.system) / 1000;
      }
    }
    if (record) roundRatios.push(rates.verify / Math.max(rates.limit, rates.limitLatin1));
  };

  progress(`warm-up: ${warmup} s per loop`);
  for (let r = 0; r < (warmup * 1000) / SLICE_MS && !aborted; r++) round(r, false);
  progress(`measuring: ${measured} s per loop, in rotating ${SLICE_MS} ms slices`);
  for (let r = 0; SIDES.some((side) => totals[side].ms < measured * 1000) && !aborted; r++) {
    round(r, true);
    if (r % 10 === 9) await new Promise((resolve) => setImmediate(resolve)); // lets SIGINT through
  }
  if (aborted) return;

  const rate = (side: SideName): number => (totals[side].ops / totals[side].ms) * 1000;
  const limitRate = Math.max(rate('limit'), rate('limitLatin1'));
  const ratio = rate('verify') / limitRate;
  const sorted = [...roundRatios].sort((a, b) => a - b);
  const pct = (n: number): string => `${fmt(n * 100, 1)} %`;
  const mixLine = (Object.keys(MIX) as Kind[]).map((k) => `${k} ${pct(counts[k] / MIX_SIZE)}`).join(', ');
  const recordNs = 1e9 / rate('usageOn') - 1e9 / rate('usageOff');
  // On a shared machine a slice's wall time includes the time the process was not running; CPU time does not.
  const cpuRate = (side: SideName): number => (totals[side].ops / totals[side].cpuMs) * 1000;
  const cpuLimitRate = Math.max(cpuRate('limit'), cpuRate('limitLatin1'));
  const cpuRecordNs = 1e9 / cpuRate('usageOn') - 1e9 / cpuRate('usageOff');
  const row = (label: string, side: SideName): string =>
    `${label.padEnd(44)} | ${fmt(rate(side)).padStart(9)} | ${fmt(1e9 / rate(side)).padStart(6)} | ${fmt(totals[side].ms / 1000, 1).padStart(5)} s  | ${fmt(1e9 / cpuRate(side)).padStart(6)}`;
  const lines = [
    `keyledger verify benchmark: ${machineLine()}`,
    `replica of ${fmt(replica.size)} active keys (${TENANTS} tenants, real tokens, HMAC-SHA-256 with a pepper); mix of ${fmt(MIX_SIZE)} tokens: ${mixLine}`,
    `measured in rotating ${SLICE_MS} ms slices (one per loop per round, ${roundRatios.length} rounds) after ${warmup} s warm-up per loop`,
    '',
    'loop                                         | ops/s     | ns/op  | measured | CPU ns/op',
    row('KeyReplica.verify(token)', 'verify'),
    row('bare: parse, Map.get, HMAC digest(), tSE', 'limit'),
    row('bare: shape, Map.get, JS HMAC, XOR', 'limitLatin1'),
    row('KeyVerifier.verify, usage recording off', 'usageOff'),
    row('KeyVerifier.verify, usage recording on', 'usageOn'),
    '',
    'physical limit = the faster bare loop (the token shape, Map.get, one HMAC-SHA-256 with the pepper per token, a constant-time compare)',
    `verify/limit: ${pct(ratio)} overall; per round: median ${pct(sorted[Math.floor(sorted.length / 2)])}, p10 ${pct(sorted[Math.floor(sorted.length / 10)])}, p90 ${pct(sorted[Math.floor((sorted.length * 9) / 10)])}`,
    `VERDICT: ${verdict(ratio >= TARGET)}: verify runs at ${pct(ratio)} of the physical limit (target ≥ ${TARGET * 100} %)`,
    `usage recording: KeyVerifier.verify at ${pct(rate('usageOff') / limitRate)} of the limit with it off, ${pct(rate('usageOn') / limitRate)} with it on; it costs ${fmt(recordNs, 1)} ns per verification`,
    `usage recording in CPU time (the process's own, whatever else runs on the machine): KeyVerifier.verify at ${pct(cpuRate('usageOff') / cpuLimitRate)} of the limit with it off, ${pct(cpuRate('usageOn') / cpuLimitRate)} with it on; it costs ${fmt(cpuRecordNs, 1)} ns of CPU per verification`,
    `VERDICT: ${verdict(rate('usageOn') / limitRate >= TARGET && recordNs < USAGE_BUDGET_NS)}: with usage recording on, verify runs at ${pct(rate('usageOn') / limitRate)} of the limit (target ≥ ${TARGET * 100} %), recording costs ${fmt(recordNs, 1)} ns (target < ${USAGE_BUDGET_NS} ns)`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  progress(`done (checksum of results ${sink}, printed so no loop can be optimised away)`);
}

main().catch((error: unknown) => {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
