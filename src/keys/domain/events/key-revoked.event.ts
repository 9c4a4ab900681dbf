export interface KeyRevokedPayload {
  readonly reason: string | null;
  readonly occurredAt: string;
}

export class KeyRevoked {
  static readonly type = 'key.revoked';
  static readonly schemaVersion = 1;
  readonly type = KeyRevoked.type;

  constructor(readonly payload: KeyRevokedPayload) {}
}
