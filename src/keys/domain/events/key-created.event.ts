export interface KeyCreatedPayload {
  readonly keyId: string;
  readonly publicId: string;
  /** Token prefix (`kl_live`, `kl_test`, …): a rotated token keeps the key's prefix. */
  readonly prefix: string;
  readonly tenantId: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly tags: Readonly<Record<string, string>>;
  readonly expiresAt: string | null;
  /** Hex HMAC-SHA-256 (or SHA-256) of the token; the token itself is never evented. */
  readonly secretHash: string;
  readonly occurredAt: string;
}

export class KeyCreated {
  static readonly type = 'key.created';
  static readonly schemaVersion = 1;
  readonly type = KeyCreated.type;

  constructor(readonly payload: KeyCreatedPayload) {}
}
