import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { PoolClient } from 'pg';
import { keyIdOfStream } from '@keyledger/nestjs/internal';
import { AsyncProjection, type Projection, type ProjectionReplay, type RecordedEvent } from '../../event-store/index.js';
import { keyCards } from '../../keys/index.js';
import { keyEventMessages, type KeyIdentity, type WebhookMessage } from './webhook-messages.js';

interface EndpointRow {
  id: string;
  tenant_id: string | null;
  event_types: string[];
  created_transaction_id: string;
  created_position: string;
}

/** The endpoints that want `m`: its tenant's and the platform-wide ones, subscribed to its type, created before the event. */
function wants(endpoint: EndpointRow, m: WebhookMessage, e: RecordedEvent): boolean {
  return (
    (endpoint.tenant_id === null || endpoint.tenant_id === m.tenantId) &&
    endpoint.event_types.includes(m.type) &&
    createdBefore(endpoint, e)
  );
}

/** The endpoint's creation comes before `e` in the readers' order (transaction id, position). */
function createdBefore(endpoint: EndpointRow, e: RecordedEvent): boolean {
  return precedes({ transactionId: BigInt(endpoint.created_transaction_id), position: Number(endpoint.created_position) }, e);
}

/** `mark` comes before `e` in the readers' order (transaction id, position). */
function precedes(mark: { transactionId: bigint; position: number }, e: RecordedEvent): boolean {
  const at = BigInt(e.transactionId);
  return mark.transactionId === at ? mark.position < e.position : mark.transactionId < at;
}

/**
 * The webhook outbox: for each key event, in the runner's gap-safe order, one `webhook_deliveries`
 * row per enabled endpoint that wants it, committed with the checkpoint. A batch applied twice (a
 * rebuild) inserts nothing twice: (endpoint, message id) is unique. Dispatchers deliver the rows.
 */
@Injectable()
@AsyncProjection(500)
export class WebhookOutboxProjection implements Projection {
  readonly name = 'webhook-outbox';

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    const keyEvents = events.filter((e) => keyIdOfStream(e.streamId) !== undefined);
    if (keyEvents.length === 0) return;
    const endpoints = (
      await client.query<EndpointRow>(
        `SELECT id, tenant_id, event_types, created_transaction_id::text AS created_transaction_id, created_position
         FROM webhook_endpoints WHERE enabled AND deleted_at IS NULL`,
      )
    ).rows;
    if (endpoints.length === 0) return;
    const identities = await this.identities(client, keyEvents);
    const rows: { endpoint: string; message: WebhookMessage }[] = [];
    for (const e of keyEvents) {
      const keyId = keyIdOfStream(e.streamId)!;
      for (const m of keyEventMessages(e, identities.get(keyId))) {
        for (const endpoint of endpoints) if (wants(endpoint, m, e)) rows.push({ endpoint: endpoint.id, message: m });
      }
    }
    await insertDeliveries(client, rows);
  }

  /**
   * A rebuild keeps the outbox: it is a queue and a delivery log, not a view to recompute. The
   * replay re-applies the events and queues nothing already queued ((endpoint, message id) is
   * unique), so deliveries are neither lost nor sent twice. Rows deleted by hand would be queued again.
   */
  reset(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The rebuild's replay: as `apply`, but it skips every event at or before the outbox checkpoint
   * of the newest pruning (webhook_delivery_pruning), whose deliveries may have been pruned and
   * would otherwise be queued, and sent, again. Pruning takes this projection's lock, so none
   * happens during a rebuild.
   */
  replay(client: PoolClient): ProjectionReplay {
    let pruned: Promise<{ transactionId: bigint; position: number } | undefined> | undefined;
    return {
      order: 'global',
      readsMetadata: false,
      prepare: (events) => async () => {
        const mark = await (pruned ??= prunedThrough(client));
        await this.apply(client, mark ? events.filter((e) => precedes(mark, e)) : events);
      },
      end: () => Promise.resolve(),
    };
  }

  /** Id, publicId and tenant of every key the batch names: they never change, so today's row is the key's as of any event. */
  private async identities(client: PoolClient, events: readonly RecordedEvent[]): Promise<Map<string, KeyIdentity>> {
    const cards = await keyCards(client, [...new Set(events.map((e) => keyIdOfStream(e.streamId)!))]);
    return new Map([...cards].map(([keyId, card]) => [keyId, { keyId, publicId: card.publicId, tenantId: card.tenantId }]));
  }
}

async function prunedThrough(client: PoolClient): Promise<{ transactionId: bigint; position: number } | undefined> {
  const { rows } = await client.query<{ transaction_id: string; position: string }>(
    'SELECT transaction_id::text AS transaction_id, position FROM webhook_delivery_pruning',
  );
  return rows[0] && { transactionId: BigInt(rows[0].transaction_id), position: Number(rows[0].position) };
}

/** Queues messages for endpoints, in the given order; a message an endpoint already has is skipped. */
export async function insertDeliveries(client: PoolClient, rows: readonly { endpoint: string; message: WebhookMessage }[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, order_key, payload)
     SELECT id, e, m, t, k, p FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS r(id, e, m, t, k, p, n)
     ORDER BY n
     ON CONFLICT (endpoint_id, message_id) WHERE redelivery_of IS NULL DO NOTHING`,
    [
      rows.map(() => randomUUID()),
      rows.map((r) => r.endpoint),
      rows.map((r) => r.message.messageId),
      rows.map((r) => r.message.type),
      rows.map((r) => r.message.keyId),
      rows.map((r) => r.message.body),
    ],
  );
}
