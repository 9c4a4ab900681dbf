import type { AccessRefusal } from './access-refusal.js';
import type { VerificationCode } from './api-key-principal.js';
import type { TokenDigesterName } from './token.js';

export interface ApiKeyAuthOptions {
  /** The registry's PostgreSQL: the replica loads api_keys and LISTENs for changes. Nothing else is needed. */
  databaseUrl: string;
  /** The registry's KEY_PEPPER (HMAC key). Omit only if the registry runs without one (plain SHA-256). */
  pepper?: string | Buffer;
  /** Guard every route of the app (APP_GUARD); opt a route out with @Public(). Default false. */
  guardAllRoutes?: boolean;
  /**
   * Which implementation computes each token's HMAC: 'js' (default: the least server CPU per
   * request) or 'node' (node:crypto, e.g. where OpenSSL's FIPS provider must do all hashing). Both
   * give the same digest (docs/adr/0002-token-digester.md).
   */
  digester?: TokenDigesterName;
  /** Safety resync period; every instance also resyncs after a LISTEN reconnect. Default 30 s. */
  resyncIntervalMs?: number;
  /** Revoked/expired keys are kept this many days to answer REVOKED/EXPIRED, then NOT_FOUND. Default 30. */
  tombstoneDays?: number;
  /**
   * A well-formed key the replica does not know (a new key, or a new secret, that another instance
   * committed a moment ago) is looked up in the database once before it is refused: at most this many
   * lookups a second per instance (past it, refused from memory as before). Default 50; 0 turns them off.
   */
  lookupsPerSecond?: number;
  /** A lookup that found nothing newer is not repeated for the same token for this long. Default 1000 ms. */
  lookupNegativeCacheMs?: number;
  /**
   * Past `lookupsPerSecond`, a miss waits at most this long for the key's notification to arrive
   * (no query) before it is refused. Default 50 ms; 0 refuses at once.
   */
  notifyWaitMs?: number;
  /**
   * The replica is fresh while its LISTEN connection is up; from the moment that drops it is stale
   * until a resync over a new connection succeeds. Past this long stale, the guard fails closed
   * (503 AUTH.UNAVAILABLE) unless onStale is 'serve'. Default 30000.
   */
  maxStalenessMs?: number;
  /** 'fail' (default): refuse with 503 past maxStalenessMs. 'serve': keep verifying from what it last knew. */
  onStale?: 'fail' | 'serve';
  /**
   * Record each key's last use (time, client IP, user agent) and a daily count per outcome, in
   * memory, and write them to the registry's `key_last_use` and `key_usage_daily` every
   * `usageFlushMs` and at shutdown (the guard's role needs INSERT and UPDATE on both: docs/guard.md).
   * Default true; false records nothing.
   */
  recordUsage?: boolean;
  /** How often usage is written, in one statement per instance. Default 10000 ms; a crash loses at most this much. */
  usageFlushMs?: number;
  /**
   * Told of every request the guard refuses (it logs each one itself as well), with the request.
   * A returned promise is awaited before the refusal is answered, so keep it bounded and never rejecting.
   */
  onRefused?: (refusal: AccessRefusal, request: unknown) => void | Promise<void>;

  /**
   * Told of every verification's result code, on the hot path: keep it to a counter increment.
   * `seconds` (the time the verification took) comes with a sample of 1 verification in 128 only.
   */
  onVerification?: (code: VerificationCode, seconds?: number) => void;
  /** Told of every database lookup behind a refusal: 'found' when the key was newer in the database. */
  onLookup?: (outcome: 'found' | 'not-found' | 'failed') => void;
}

export const API_KEY_AUTH_OPTIONS = Symbol('API_KEY_AUTH_OPTIONS');
/** The pepper as a Buffer (undefined without one): ApiKeyAuthModule provides it from the options. */
export const KEY_PEPPER = Symbol('KEY_PEPPER');
