import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store/index.js';
import { WebhookDispatcher } from './delivery/webhook-dispatcher.js';
import { WebhookOutboxProjection } from './delivery/webhook-outbox.projection.js';
import { ExpiringNotifier } from './expiring/expiring-notifier.js';
import { WebhookEndpoints } from './webhook-endpoints.js';
import { WebhookEndpointsProjection } from './webhook-endpoints.projection.js';
import { WebhookSecrets } from './webhook-secrets.js';

/**
 * Webhooks without HTTP: endpoints (events + inline projection), the outbox projection, the
 * dispatcher and the `key.expiring` notifier. The server adds the admin API (WebhooksHttpModule);
 * the CLI imports this alone.
 */
@Module({
  imports: [EventStoreModule],
  providers: [WebhookSecrets, WebhookEndpointsProjection, WebhookOutboxProjection, WebhookDispatcher, ExpiringNotifier, WebhookEndpoints],
  exports: [WebhookEndpoints, WebhookDispatcher, ExpiringNotifier],
})
export class WebhooksModule {}
