import type { RecordedEvent } from '../../event-store/index.js';
import { readKeyEvent } from '../../keys/index.js';
import type { DeliverableEventType } from '../domain/webhook-event-types.js';

/** What a key's webhook payload names of it; never a secret or a hash of one. */
export interface KeyIdentity {
  keyId: string;
  publicId: string;
  tenantId: string;
}

/** One webhook message: Standard Webhooks' `{ type, timestamp, data }`, and its id (`webhook-id`). */
export interface WebhookMessage {
  messageId: string;
  type: DeliverableEventType;
  keyId: string;
  tenantId: string;
  body: string;
}

function message(
  messageId: string,
  type: DeliverableEventType,
  timestamp: Date,
  key: KeyIdentity,
  data: Record<string, unknown>,
): WebhookMessage {
  return {
    messageId,
    type,
    keyId: key.keyId,
    tenantId: key.tenantId,
    body: JSON.stringify({ type, timestamp: timestamp.toISOString(), data: { ...key, ...data } }),
  };
}

/**
 * The webhook messages of one stored key event (none for another stream's event or an event this
 * code cannot read). Fields are picked one by one: a new payload field (a hash) never slips through.
 * `identity`: the key's id, publicId and tenant (from its key.created, which later events do not repeat).
 */
export function keyEventMessages(e: RecordedEvent, identity: KeyIdentity | undefined): WebhookMessage[] {
  const event = readKeyEvent(e.type, e.schemaVersion, e.payload);
  if (event.type === 'unreadable') return [];
  const id = `msg_${e.eventId}`;
  const at = e.recordedAt;
  const data = { eventId: e.eventId, occurredAt: event.payload.occurredAt };
  switch (event.type) {
    case 'key.created': {
      const p = event.payload;
      const key = { keyId: p.keyId, publicId: p.publicId, tenantId: p.tenantId };
      return [message(id, 'key.created', at, key, { ...data, name: p.name, scopes: p.scopes, tags: p.tags, expiresAt: p.expiresAt })];
    }
    case 'key.rotated':
      return identity
        ? [
            message(id, 'key.rotated', at, identity, {
              ...data,
              graceEndsAt: event.payload.graceEndsAt,
              expiresAt: event.payload.expiresAt,
            }),
          ]
        : [];
    case 'key.updated':
      return identity ? [message(id, 'key.updated', at, identity, { ...data, changes: event.payload.changes })] : [];
    case 'key.expired':
      return identity ? [message(id, 'key.expired', at, identity, { ...data, reason: event.payload.reason })] : [];
    case 'key.revoked': {
      if (!identity) return [];
      // reasonCode: added to KeyRevoked by the leaked-key reports (issue #19, item 5); optional here.
      const reasonCode = (event.payload as { reasonCode?: unknown }).reasonCode;
      const revoked = { ...data, reason: event.payload.reason, ...(typeof reasonCode === 'string' ? { reasonCode } : {}) };
      const messages = [message(id, 'key.revoked', at, identity, revoked)];
      if (reasonCode === 'leaked') messages.push(message(`${id}_leaked`, 'key.leaked', at, identity, revoked));
      return messages;
    }
  }
}
