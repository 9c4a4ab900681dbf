/**
 * The events of a webhook endpoint's stream (`webhook-<id>`). Each names the endpoint's tenant
 * (null: platform-wide) and what it changed as `{ from, to }`, so the audit log shows both
 * without the endpoint's earlier events. The signing secret is never in an event.
 */
export const WEBHOOK_STREAM_PREFIX = 'webhook-';

export const webhookStreamId = (id: string): string => `${WEBHOOK_STREAM_PREFIX}${id}`;

export type WebhookChanges = Partial<Record<'url' | 'eventTypes' | 'enabled', { from: unknown; to: unknown }>>;

export interface WebhookEventPayload {
  readonly webhookId: string;
  readonly tenantId: string | null;
  readonly changes: WebhookChanges;
  /** Why it was disabled by keyledger (`webhook.disabled`). */
  readonly reason?: string;
  readonly occurredAt: string;
}

/** Stable stored type names. */
export const WEBHOOK_EVENT_TYPES = ['webhook.created', 'webhook.updated', 'webhook.disabled', 'webhook.deleted'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
export const WEBHOOK_EVENT_SCHEMA_VERSION = 1;

export function isWebhookEvent(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}
