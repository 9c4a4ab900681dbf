export interface Change<T> {
  readonly from: T;
  readonly to: T;
}

/** Only the fields that actually changed are present; tags are replaced as a whole map. */
export interface KeyUpdatedChanges {
  readonly name?: Change<string>;
  readonly scopes?: Change<readonly string[]>;
  readonly tags?: Change<Readonly<Record<string, string>>>;
  readonly expiresAt?: Change<string | null>;
}

export interface KeyUpdatedPayload {
  readonly changes: KeyUpdatedChanges;
  readonly occurredAt: string;
}

export class KeyUpdated {
  static readonly type = 'key.updated';
  static readonly schemaVersion = 1;
  readonly type = KeyUpdated.type;

  constructor(readonly payload: KeyUpdatedPayload) {}
}
