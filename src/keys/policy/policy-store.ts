import { Inject, Injectable } from '@nestjs/common';
import type { Pool } from 'pg';
import { PG_POOL } from '../../database/index.js';
import { EventStore } from '../../event-store/index.js';
import { eventMetadata, type CommandContext } from '../command-context.js';
import { TENANT_ID_PATTERN } from '../domain/api-key.aggregate.js';
import { effectivePolicy, NO_POLICY, type EffectivePolicy, type PolicySettings } from './key-policy.js';
import { PolicyChanged } from './policy-changed.event.js';
import { policyStreamId } from './policy-stream.js';
import { PLATFORM_ROW } from './tenant-policies.projection.js';

/** A policy as stored at one level: its settings and its stream version (0: never set). */
export interface StoredPolicy {
  settings: PolicySettings;
  version: number;
}

/** Reads policies from `tenant_policies` and appends policy events to their streams. */
@Injectable()
export class PolicyStore {
  constructor(
    private readonly store: EventStore,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  /** The platform default (`null`) and, for a tenant, its own policy, in one query. */
  async levels(tenantId: string | null): Promise<{ platform: StoredPolicy; tenant: StoredPolicy | null }> {
    const { rows } = await this.pool.query<{ tenant_id: string; settings: PolicySettings; version: number }>(
      'SELECT tenant_id, settings, version FROM tenant_policies WHERE tenant_id = ANY($1)',
      [tenantId === null ? [PLATFORM_ROW] : [PLATFORM_ROW, tenantId]],
    );
    const at = (id: string): StoredPolicy => {
      const row = rows.find((r) => r.tenant_id === id);
      return row ? { settings: { ...NO_POLICY, ...row.settings }, version: row.version } : { settings: NO_POLICY, version: 0 };
    };
    return { platform: at(PLATFORM_ROW), tenant: tenantId === null ? null : at(tenantId) };
  }

  /** The policy a tenant's keys are held to. */
  async effective(tenantId: string): Promise<EffectivePolicy> {
    // A tenant id no key can have (the command refuses it next) has no policy of its own.
    const { platform, tenant } = await this.levels(TENANT_ID_PATTERN.test(tenantId) ? tenantId : null);
    return effectivePolicy(platform.settings, tenant?.settings ?? null);
  }

  /** Appends the change expecting the stream at `version`: a concurrent change gets a 409. */
  async append(event: PolicyChanged, version: number, ctx: CommandContext): Promise<number> {
    const result = await this.store.append(
      policyStreamId(event.payload.tenantId),
      version === 0 ? 'no-stream' : version,
      [{ type: PolicyChanged.type, schemaVersion: PolicyChanged.schemaVersion, payload: event.payload }],
      eventMetadata(ctx),
    );
    return result.version;
  }
}
