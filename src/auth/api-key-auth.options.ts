import type { AccessRefusal } from './access-refusal.js';

export interface ApiKeyAuthOptions {
  /** The registry's PostgreSQL: the replica loads api_keys and LISTENs for changes. Nothing else is needed. */
  databaseUrl: string;
  /** The registry's KEY_PEPPER (HMAC key). Omit only if the registry runs without one (plain SHA-256). */
  pepper?: string | Buffer;
  /** Guard every route of the app (APP_GUARD); opt a route out with @Public(). Default false. */
  guardAllRoutes?: boolean;
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
   * Told of every request the guard refuses (it logs each one itself as well), with the request.
   * A returned promise is awaited before the refusal is answered, so keep it bounded and never rejecting.
   */
  onRefused?: (refusal: AccessRefusal, request: unknown) => void | Promise<void>;
}

export const API_KEY_AUTH_OPTIONS = Symbol('API_KEY_AUTH_OPTIONS');
