import type { DeliveryView, WebhookEndpointView } from '../../webhooks/index.js';
import { renderFields, renderTable, truncate } from '../output.js';

export function renderEndpoint(e: WebhookEndpointView): string {
  return renderFields([
    ['id', e.id],
    ['tenant', e.tenantId ?? '(platform-wide)'],
    ['url', e.url],
    ['event types', e.eventTypes.join(', ')],
    ['enabled', e.enabled ? 'yes' : `no${e.disabledReason ? ` (${e.disabledReason})` : ''}`],
    ['created', e.createdAt],
    ['updated', e.updatedAt],
  ]);
}

export function renderEndpointTable(items: readonly WebhookEndpointView[]): string {
  return renderTable(
    ['ID', 'TENANT', 'URL', 'EVENTS', 'ENABLED'],
    items.map((e) => [e.id, e.tenantId ?? '(platform)', truncate(e.url, 60), e.eventTypes.join(','), e.enabled ? 'yes' : 'no']),
  );
}

export function renderDeliveryTable(items: readonly DeliveryView[]): string {
  return renderTable(
    ['ID', 'EVENT', 'STATUS', 'ATTEMPTS', 'RESPONSE', 'LAST ATTEMPT', 'ERROR'],
    items.map((d) => [
      d.id,
      d.eventType,
      d.status,
      String(d.attempts),
      d.responseStatus === null ? '' : String(d.responseStatus),
      d.lastAttemptAt ?? '',
      truncate(d.error ?? '', 40),
    ]),
  );
}
