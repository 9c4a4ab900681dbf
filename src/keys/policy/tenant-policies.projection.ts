import type { PoolClient } from 'pg';
import { InlineProjection, type Projection, type RecordedEvent } from '../../event-store/index.js';
import { PolicyChanged, type PolicyChangedPayload } from './policy-changed.event.js';
import { policyTenantOfStream } from './policy-stream.js';

/** The row key of the platform default; no tenant id can be `*`. */
export const PLATFORM_ROW = '*';

/**
 * `tenant_policies`: each policy stream's latest settings, written inline, in the transaction of
 * the policy event. So a command that starts after a policy change committed reads that change
 * (docs/ARCHITECTURE.md, "Key policies"), in one indexed query, instead of folding two streams.
 */
@InlineProjection()
export class TenantPoliciesProjection implements Projection {
  readonly name = 'tenant-policies';

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events) {
      const tenantId = policyTenantOfStream(e.streamId);
      if (tenantId === undefined) continue;
      if (e.type !== PolicyChanged.type || e.schemaVersion !== PolicyChanged.schemaVersion) {
        throw new Error(`tenant-policies: unreadable ${e.type} v${e.schemaVersion} at position ${e.position}`);
      }
      const p = e.payload as PolicyChangedPayload;
      await client.query(
        `INSERT INTO tenant_policies (tenant_id, settings, version, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (tenant_id) DO UPDATE SET settings = EXCLUDED.settings, version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
        [tenantId ?? PLATFORM_ROW, JSON.stringify(p.settings), e.streamVersion, p.occurredAt],
      );
    }
  }

  async reset(client: PoolClient): Promise<void> {
    await client.query('DELETE FROM tenant_policies');
  }
}
