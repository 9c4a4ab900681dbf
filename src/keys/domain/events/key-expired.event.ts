import type { ReasonCode } from '../reason-code.js';

/**
 * `ttl`: its expiresAt passed (written by the sweeper); `manual`: an admin expired it now;
 * `inactive`: unused for its tenant's `inactiveAfterDays` (written by the sweeper).
 */
export type KeyExpiryReason = 'ttl' | 'manual' | 'inactive';

/** What the sweeper decided an inactive expiry on, kept in the event (ADR 0006, decision 5). */
export interface InactivityEvidence {
  /** The last use it read; null: never used, counted from the key's creation. */
  readonly lastUsedAt: string | null;
  /** The policy's limit it applied. */
  readonly inactiveAfterDays: number;
}

export interface KeyExpiredPayload extends Partial<InactivityEvidence> {
  readonly reason: KeyExpiryReason;
  /** Absent on events written before reason codes: read with reasonCodeOf(), as `other`. */
  readonly reasonCode?: ReasonCode;
  readonly occurredAt: string;
}

export class KeyExpired {
  static readonly type = 'key.expired';
  static readonly schemaVersion = 1;
  readonly type = KeyExpired.type;

  constructor(readonly payload: KeyExpiredPayload) {}
}
