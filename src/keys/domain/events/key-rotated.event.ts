export interface KeyRotatedPayload {
  readonly secretHash: string;
  readonly previousSecretHash: string;
  /** Until then the previous secret still works; null when the grace period is 0. */
  readonly graceEndsAt: string | null;
  /** The key's expiry after the rotation (unchanged, moved or cleared). */
  readonly expiresAt: string | null;
  readonly occurredAt: string;
}

export class KeyRotated {
  static readonly type = 'key.rotated';
  static readonly schemaVersion = 1;
  readonly type = KeyRotated.type;

  constructor(readonly payload: KeyRotatedPayload) {}
}
