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
}

export const API_KEY_AUTH_OPTIONS = Symbol('API_KEY_AUTH_OPTIONS');
