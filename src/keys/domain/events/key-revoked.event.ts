import type { ReasonCode } from '../reason-code.js';

export interface KeyRevokedPayload {
  readonly reason: string | null;
  /** Absent on events written before reason codes: read with reasonCodeOf(), as `other`. */
  readonly reasonCode?: ReasonCode;
  /** Where the secret was found, for a `leaked` revocation from a secret-scanning report. */
  readonly sourceUrl?: string;
  readonly occurredAt: string;
}

export class KeyRevoked {
  static readonly type = 'key.revoked';
  static readonly schemaVersion = 1;
  readonly type = KeyRevoked.type;

  constructor(readonly payload: KeyRevokedPayload) {}
}
