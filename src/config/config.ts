import { isAbsolute, resolve } from 'node:path';
import type { TokenDigesterName } from '@keyledger/nestjs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'verbose';

export interface AppConfig {
  /** Unset: the app starts an embedded PostgreSQL under DATA_DIR. */
  databaseUrl: string | undefined;
  port: number;
  host: string;
  /** The Prometheus listener's port (`/metrics` only, no key): null when METRICS_PORT=off, 0 for any free port. */
  metricsPort: number | null;
  metricsHost: string;
  dataDir: string;
  logLevel: LogLevel;
  runMigrations: boolean;
  embeddedPostgresPort: number;
  /** HMAC pepper for key hashes; generated and kept under DATA_DIR when unset. */
  keyPepper: string | undefined;
  tokenPrefix: string;
  examplesEnabled: boolean;
  projectionPollMs: number;
  bootstrapAdmin: boolean;
  /** The guard replica's safety resync period (it also resyncs after every LISTEN reconnect). */
  replicaResyncMs: number;
  /** Past this long cut off from the database's notifications, the guard refuses with 503 (see guardOnStale). */
  guardMaxStalenessMs: number;
  /** 'fail' closes the guard past guardMaxStalenessMs; 'serve' keeps verifying from what it last knew. */
  guardOnStale: 'fail' | 'serve';
  /** The guard's HMAC implementation; unset, the package's default. Not read from the environment: bench:http sets it (DIGESTER). */
  guardDigester?: TokenDigesterName;
  /** How often the guard writes key usage (last use, daily counts); null when USAGE_FLUSH_MS=off (nothing recorded). */
  usageFlushMs: number | null;
  /** Take the client IP from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy: boolean;
  expirySweepEnabled: boolean;
  /** Run the async projections (audit log) in this process; the CLI turns it off and drives them itself. */
  asyncProjectionsEnabled: boolean;
  /** A KeyExpired is written at most this long after a key's expiresAt. */
  expirySweepDelayMs: number;
  /** Audit exports running at once on this instance, each on a connection of its own. */
  auditExportConcurrency: number;
  /** An HTTP audit export whose client reads nothing for this long is aborted, freeing its place. */
  auditExportIdleTimeoutMs: number;
  /** GitHub's secret-scanning public keys (`/meta/public_keys/secret_scanning` JSON); unset, leak reports are refused. */
  secretScanningKeysFile: string | undefined;
  /** Leak reports accepted per client IP per minute on this instance. */
  secretScanningRateLimit: number;
  webhooks: WebhookConfig;
}

/** Webhook delivery (docs/webhooks.md, docs/operations.md). Durations in milliseconds. */
export interface WebhookConfig {
  /** Lifts the private-network (SSRF) and https-only rules: for tests and internal setups only. */
  allowPrivateNetworks: boolean;
  /** Run the dispatcher and the `key.expiring` scanner in this process (also needs asyncProjectionsEnabled). */
  dispatchEnabled: boolean;
  /** The delay before each attempt (the first is 0); past the list the last delay repeats until `retryForMs`. */
  retrySchedule: readonly number[];
  /** No attempt starts later than this after the first one: the delivery is then `failed`. */
  retryForMs: number;
  /** An endpoint failing without a success for this long is disabled (a `webhook.disabled` event). */
  disableAfterMs: number;
  timeoutMs: number;
  /** Deliveries in flight at once per endpoint, across all instances. */
  concurrency: number;
  /** A leased delivery whose dispatcher did not finish within this is taken again. */
  leaseMs: number;
  /** How often each dispatcher looks for due deliveries (it is also woken by new events). */
  pollMs: number;
  /** `key.expiring` offsets before expiresAt, per tenant; `default` for the others. */
  expiringOffsets: { default: readonly number[]; byTenant: Readonly<Record<string, readonly number[]>> };
  expiringScanMs: number;
  /** Delivered and failed deliveries queued longer ago than this are deleted (pending ones never). */
  retentionMs: number;
  /** How often one instance (whichever gets the lock) prunes them. */
  pruneEveryMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500ms`, `5s`, `30m`, `2h`, `3d`, or a bare number of milliseconds. */
function parseDuration(name: string, raw: string): number {
  const match = /^\s*(\d{1,9})\s*(ms|s|m|h|d)?\s*$/.exec(raw);
  if (!match) throw new ConfigError(`${name} must be durations such as 500ms, 5s, 30m, 2h or 3d, got "${raw}"`);
  return Number(match[1]) * UNIT_MS[match[2] ?? 'ms'];
}

function durations(env: Env, name: string, fallback: string): number[] {
  const raw = env[name]?.trim() || fallback;
  return raw.split(',').map((part) => parseDuration(name, part));
}

function duration(env: Env, name: string, fallback: string): number {
  return parseDuration(name, env[name]?.trim() || fallback);
}

/** `WEBHOOK_EXPIRING_OFFSETS_BY_TENANT=acme:14d,1d;beta:2d` */
function offsetsByTenant(env: Env): Record<string, number[]> {
  const name = 'WEBHOOK_EXPIRING_OFFSETS_BY_TENANT';
  const byTenant: Record<string, number[]> = {};
  for (const entry of (env[name] ?? '').split(';').filter((e) => e.trim() !== '')) {
    const colon = entry.indexOf(':');
    if (colon < 1) throw new ConfigError(`${name} must be tenant:offset,offset;tenant:offset…, got "${entry}"`);
    byTenant[entry.slice(0, colon).trim()] = entry
      .slice(colon + 1)
      .split(',')
      .map((part) => parseDuration(name, part));
  }
  return byTenant;
}

function webhookConfig(env: Env): WebhookConfig {
  const config: WebhookConfig = {
    allowPrivateNetworks: bool(env, 'WEBHOOK_ALLOW_PRIVATE_NETWORKS', false),
    dispatchEnabled: bool(env, 'WEBHOOK_DISPATCH_ENABLED', true),
    // Standard Webhooks: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h …
    retrySchedule: durations(env, 'WEBHOOK_RETRY_SCHEDULE', '0,5s,5m,30m,2h,5h,10h,10h'),
    retryForMs: duration(env, 'WEBHOOK_RETRY_FOR', '3d'),
    disableAfterMs: duration(env, 'WEBHOOK_DISABLE_AFTER', '5d'),
    timeoutMs: duration(env, 'WEBHOOK_TIMEOUT', '10s'),
    concurrency: int(env, 'WEBHOOK_ENDPOINT_CONCURRENCY', 16, 1, 1000),
    leaseMs: duration(env, 'WEBHOOK_LEASE', '60s'),
    pollMs: duration(env, 'WEBHOOK_POLL', '1s'),
    expiringOffsets: { default: durations(env, 'WEBHOOK_EXPIRING_OFFSETS', '30d,7d,1d'), byTenant: offsetsByTenant(env) },
    expiringScanMs: duration(env, 'WEBHOOK_EXPIRING_SCAN', '1m'),
    retentionMs: duration(env, 'WEBHOOK_DELIVERY_RETENTION', '30d'),
    pruneEveryMs: duration(env, 'WEBHOOK_PRUNE_INTERVAL', '10m'),
  };
  if (config.leaseMs <= config.timeoutMs) {
    throw new ConfigError('WEBHOOK_LEASE must be longer than WEBHOOK_TIMEOUT: a delivery still running would be taken again');
  }
  return config;
}

/** A configuration problem: main.ts prints its message as one line and exits 1. */
export class ConfigError extends Error {}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got "${env[name]}"`);
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

/** Where `/metrics` is served: its own listener, on loopback by default (docs/operations.md, "Metrics"). */
function metricsPort(env: Env, port: number): number | null {
  if (env.METRICS_PORT?.trim().toLowerCase() === 'off') return null;
  const value = int(env, 'METRICS_PORT', 9464, 0, 65535);
  if (value !== 0 && value === port) throw new ConfigError(`METRICS_PORT must differ from PORT (both ${port}), or be off`);
  return value;
}

function databaseUrl(env: Env): string | undefined {
  const raw = env.DATABASE_URL?.trim();
  if (!raw) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError('DATABASE_URL must be a URL such as postgres://user:password@host:5432/db');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new ConfigError(`DATABASE_URL must start with postgres:// or postgresql://, got "${url.protocol}//"`);
  }
  return raw;
}

export function loadConfig(env: Env = process.env): AppConfig {
  const dataDir = env.DATA_DIR?.trim() || './.data';
  const tokenPrefix = env.KEY_PREFIX?.trim() || 'kl_live';
  if (!/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/.test(tokenPrefix)) {
    throw new ConfigError(`KEY_PREFIX must be lower-case letters and digits separated by "_", got "${tokenPrefix}"`);
  }
  const keyPepper = env.KEY_PEPPER;
  if (keyPepper !== undefined && keyPepper !== '' && keyPepper.length < 32) {
    throw new ConfigError('KEY_PEPPER must be at least 32 characters (use 32 random bytes, base64 or hex)');
  }
  const port = int(env, 'PORT', 3000, 0, 65535);
  return {
    databaseUrl: databaseUrl(env),
    port,
    // With the embedded database this is a development setup: only this machine may connect.
    host: env.HOST?.trim() || (databaseUrl(env) === undefined ? '127.0.0.1' : '0.0.0.0'),
    metricsPort: metricsPort(env, port),
    metricsHost: env.METRICS_HOST?.trim() || '127.0.0.1',
    dataDir: isAbsolute(dataDir) ? dataDir : resolve(process.cwd(), dataDir),
    logLevel: oneOf(env, 'LOG_LEVEL', ['error', 'warn', 'info', 'debug', 'verbose'] as const, 'info'),
    runMigrations: bool(env, 'RUN_MIGRATIONS', true),
    embeddedPostgresPort: int(env, 'EMBEDDED_PG_PORT', 54329, 1024, 65535),
    keyPepper: keyPepper || undefined,
    tokenPrefix,
    examplesEnabled: bool(env, 'EXAMPLES_ENABLED', true),
    projectionPollMs: int(env, 'PROJECTION_POLL_MS', 1000, 50, 3_600_000),
    bootstrapAdmin: bool(env, 'BOOTSTRAP_ADMIN', true),
    trustProxy: bool(env, 'TRUST_PROXY', false),
    expirySweepEnabled: bool(env, 'EXPIRY_SWEEP_ENABLED', true),
    asyncProjectionsEnabled: bool(env, 'ASYNC_PROJECTIONS_ENABLED', true),
    expirySweepDelayMs: int(env, 'EXPIRY_SWEEP_DELAY_MS', 30_000, 300, 86_400_000),
    replicaResyncMs: int(env, 'REPLICA_RESYNC_MS', 30_000, 50, 86_400_000),
    guardMaxStalenessMs: int(env, 'GUARD_MAX_STALENESS_MS', 30_000, 100, 86_400_000),
    guardOnStale: oneOf(env, 'GUARD_ON_STALE', ['fail', 'serve'] as const, 'fail'),
    usageFlushMs: env.USAGE_FLUSH_MS?.trim().toLowerCase() === 'off' ? null : int(env, 'USAGE_FLUSH_MS', 10_000, 50, 3_600_000),
    auditExportConcurrency: int(env, 'AUDIT_EXPORT_CONCURRENCY', 4, 1, 100),
    auditExportIdleTimeoutMs: int(env, 'AUDIT_EXPORT_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
    secretScanningKeysFile: env.SECRET_SCANNING_KEYS_FILE?.trim()
      ? resolve(process.cwd(), env.SECRET_SCANNING_KEYS_FILE.trim())
      : undefined,
    secretScanningRateLimit: int(env, 'SECRET_SCANNING_RATE_LIMIT', 60, 1, 100_000),
    webhooks: webhookConfig(env),
  };
}
