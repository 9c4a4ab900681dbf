import { Inject } from '@nestjs/common';
import { QueryHandler, type IQueryHandler } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { keyStreamId } from '@keyledger/nestjs/internal';
import { PG_POOL } from '../../../database/index.js';
import { EventStore } from '../../../event-store/index.js';
import { ApiKey } from '../../domain/api-key.aggregate.js';
import { toKeyEvent } from '../../key-repository.js';
import { assertPolicyTenant, effectivePolicy, keyBreaches, NO_POLICY, type PolicySettings } from '../../policy/key-policy.js';
import { PLATFORM_ROW } from '../../policy/tenant-policies.projection.js';
import { readableTenant } from '../../tenant-access.js';
import { PolicyViolationsQuery, type PolicyViolations } from './policy-violations.query.js';

interface Row {
  key_id: string;
  public_id: string;
  tenant_id: string;
  name: string;
  scopes: string[];
  expires_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
  tenant_settings: PolicySettings | null;
  platform_settings: PolicySettings | null;
}

const DAY_MS = 86_400_000;

/**
 * Every active key of the tenant (or of all tenants), with its last use and both policy levels,
 * checked in memory. Only a key whose expiry lies further from its creation than the limit needs
 * its stream read (a later rotation may have issued its secret closer to its expiry).
 */
@QueryHandler(PolicyViolationsQuery)
export class PolicyViolationsHandler implements IQueryHandler<PolicyViolationsQuery> {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly store: EventStore,
  ) {}

  async execute({ actor, tenantId, limit }: PolicyViolationsQuery): Promise<PolicyViolations> {
    assertPolicyTenant(tenantId);
    const tenant = readableTenant(actor, tenantId ?? undefined) ?? null;
    const now = new Date();
    const { rows } = await this.pool.query<Row>(
      `SELECT k.key_id, k.public_id, k.tenant_id, k.name, k.scopes, k.expires_at, k.created_at, u.last_used_at,
              t.settings AS tenant_settings, p.settings AS platform_settings
       FROM api_keys k
       LEFT JOIN key_last_use u ON u.key_id = k.key_id
       LEFT JOIN tenant_policies t ON t.tenant_id = k.tenant_id
       LEFT JOIN tenant_policies p ON p.tenant_id = $2
       WHERE k.status = 'active' AND (k.expires_at IS NULL OR k.expires_at > $1) AND ($3::text IS NULL OR k.tenant_id = $3)
       ORDER BY k.tenant_id, k.created_at, k.key_id`,
      [now, PLATFORM_ROW, tenant],
    );
    const found: PolicyViolations['keys'] = [];
    for (const row of rows) {
      const policy = effectivePolicy(
        { ...NO_POLICY, ...row.platform_settings },
        row.tenant_settings && { ...NO_POLICY, ...row.tenant_settings },
      );
      const { maxLifetimeDays: max, inactiveAfterDays: inactive } = policy.settings;
      const mayOutliveMax = max !== null && row.expires_at !== null && row.expires_at.getTime() - row.created_at.getTime() > max * DAY_MS;
      const secretIssuedAt = mayOutliveMax ? await this.secretIssuedAt(row.key_id) : row.created_at;
      const breaches = keyBreaches(policy, { scopes: row.scopes, expiresAt: row.expires_at, secretIssuedAt }).map(
        ({ rule, limit, got }) => ({ rule, limit, got }),
      );
      const idleSince = row.last_used_at ?? row.created_at;
      if (inactive !== null && now.getTime() - idleSince.getTime() >= inactive * DAY_MS) {
        breaches.push({ rule: 'inactiveAfterDays', limit: inactive, got: Math.floor((now.getTime() - idleSince.getTime()) / DAY_MS) });
      }
      if (breaches.length > 0) found.push({ id: row.key_id, publicId: row.public_id, tenantId: row.tenant_id, name: row.name, breaches });
    }
    return { total: found.length, keys: found.slice(0, limit), truncated: found.length > limit };
  }

  private async secretIssuedAt(keyId: string): Promise<Date> {
    return ApiKey.fromEvents((await this.store.readStream(keyStreamId(keyId))).map(toKeyEvent)).secretIssuedAt;
  }
}
