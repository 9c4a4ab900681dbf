import type { ReasonCode } from '../reason-code.js';

/** `ttl`: its expiresAt passed (written by the sweeper); `manual`: an admin expired it now. */
export type KeyExpiryReason = 'ttl' | 'manual';

export interface KeyExpiredPayload {
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
