/** Who is calling: the verified key, as the guard puts it on the request. Tags come from the key, never the client. */
export interface ApiKeyPrincipal {
  readonly keyId: string;
  readonly publicId: string;
  readonly tenantId: string;
  readonly scopes: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  /** ISO 8601, or null for a key that never expires. */
  readonly expiresAt: string | null;
}

/** UNAVAILABLE: the guard cannot know (its replica is stale past maxStalenessMs) and fails closed. */
export type VerificationCode = 'VALID' | 'NOT_FOUND' | 'MALFORMED' | 'EXPIRED' | 'REVOKED' | 'INSUFFICIENT_SCOPE' | 'UNAVAILABLE';

/** INSUFFICIENT_SCOPE carries the verified key too: who was refused is worth a log line. */
export type VerificationResult =
  | { readonly code: 'VALID' | 'INSUFFICIENT_SCOPE'; readonly principal: ApiKeyPrincipal }
  | { readonly code: Exclude<VerificationCode, 'VALID' | 'INSUFFICIENT_SCOPE'>; readonly principal?: undefined };
