import type { PolicySettings } from './key-policy.js';

export interface PolicyChangedPayload {
  /** null: the platform-wide default. */
  readonly tenantId: string | null;
  /** The whole policy after the change (null: not set at this level). */
  readonly settings: PolicySettings;
  /** Each setting that changed, `{from, to}`: what the audit log shows. */
  readonly changes: Readonly<Record<string, { from: unknown; to: unknown }>>;
  readonly occurredAt: string;
}

/** A tenant's key policy, or the platform default, was set. */
export class PolicyChanged {
  static readonly type = 'policy.changed';
  static readonly schemaVersion = 1;
  readonly type = PolicyChanged.type;

  constructor(readonly payload: PolicyChangedPayload) {}
}
