/** The event types an endpoint can subscribe to (docs/webhooks.md). */
export const DELIVERABLE_EVENT_TYPES = [
  'key.created',
  'key.rotated',
  'key.updated',
  'key.revoked',
  'key.expired',
  'key.leaked',
  'key.expiring',
] as const;

export type DeliverableEventType = (typeof DELIVERABLE_EVENT_TYPES)[number];
