import type { WebhookEndpoints } from '../../webhooks/index.js';
import { Registry } from '../registry.js';

/** The domain's field names, as the flags that carry them (inFlagTerms). */
export const WEBHOOK_FLAGS = { url: '--url', eventTypes: '--event-type', tenantId: '--tenant' };

/** The webhook endpoints service of the registry (its modules load on first use). */
export async function webhookEndpoints(registry: Registry): Promise<WebhookEndpoints> {
  const { WebhookEndpoints } = await import('../../webhooks/index.js');
  return registry.get(WebhookEndpoints);
}
