export { WebhooksModule } from './webhooks.module.js';
export { WebhooksHttpModule } from './http/webhooks-http.module.js';
export { WebhookEndpoints, type DeliveryView, type WebhookEndpointView } from './webhook-endpoints.js';
export { WebhookDispatcher, leaseAheadWindow } from './delivery/webhook-dispatcher.js';
export { ExpiringNotifier } from './expiring/expiring-notifier.js';
export { DELIVERABLE_EVENT_TYPES } from './domain/webhook-event-types.js';
