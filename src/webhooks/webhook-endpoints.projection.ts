import { Injectable } from '@nestjs/common';
import type { PoolClient } from 'pg';
import { InlineProjection, type Projection, type RecordedEvent } from '../event-store/index.js';
import { isWebhookEvent, type WebhookEventPayload } from './domain/webhook-events.js';

/**
 * `webhook_endpoints` from the `webhook.*` events, inline: an endpoint change is visible (and
 * decides the next deliveries) the moment it commits. A deleted endpoint keeps its row.
 */
@Injectable()
@InlineProjection()
export class WebhookEndpointsProjection implements Projection {
  readonly name = 'webhook-endpoints';

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events) {
      if (!isWebhookEvent(e.type)) continue;
      const p = e.payload as WebhookEventPayload;
      switch (e.type) {
        case 'webhook.created':
          await client.query(
            `INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, enabled, created_at, updated_at, version, created_transaction_id, created_position)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8::xid8, $9)`,
            [
              p.webhookId,
              p.tenantId,
              p.changes.url?.to,
              p.changes.eventTypes?.to,
              p.changes.enabled?.to ?? true,
              p.occurredAt,
              e.streamVersion,
              e.transactionId,
              e.position,
            ],
          );
          break;
        case 'webhook.updated':
        case 'webhook.disabled':
          await client.query(
            `UPDATE webhook_endpoints SET
               url = coalesce($2, url), event_types = coalesce($3, event_types), enabled = coalesce($4, enabled),
               disabled_reason = CASE WHEN $4 IS NULL THEN disabled_reason WHEN $4 THEN NULL ELSE $5 END,
               updated_at = $6, version = $7
             WHERE id = $1`,
            [
              p.webhookId,
              p.changes.url?.to ?? null,
              p.changes.eventTypes?.to ?? null,
              p.changes.enabled?.to ?? null,
              p.reason ?? 'disabled by an admin',
              p.occurredAt,
              e.streamVersion,
            ],
          );
          break;
        case 'webhook.deleted':
          await client.query('UPDATE webhook_endpoints SET enabled = false, deleted_at = $2, updated_at = $2, version = $3 WHERE id = $1', [
            p.webhookId,
            p.occurredAt,
            e.streamVersion,
          ]);
          break;
      }
    }
  }

  async reset(client: PoolClient): Promise<void> {
    await client.query('DELETE FROM webhook_endpoints');
  }
}
