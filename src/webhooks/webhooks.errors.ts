import { DomainError } from '../common/index.js';

export class WebhookNotFoundError extends DomainError {
  static withId(id: string): WebhookNotFoundError {
    return new WebhookNotFoundError('not-found', 'WEBHOOK.NOT_FOUND', `No webhook endpoint ${id.slice(0, 64)}`);
  }
}

export class DeliveryNotFoundError extends DomainError {
  static withId(id: string): DeliveryNotFoundError {
    return new DeliveryNotFoundError('not-found', 'WEBHOOK.DELIVERY_NOT_FOUND', `No delivery ${id.slice(0, 64)} for this endpoint`);
  }
}

/** The URL is refused by the SSRF rules (docs/webhooks.md, "Which URLs"). */
export class WebhookUrlRefusedError extends DomainError {
  static because(reason: string): WebhookUrlRefusedError {
    return new WebhookUrlRefusedError('validation', 'WEBHOOK.URL_REFUSED', `url: ${reason}`, [{ field: 'url', message: reason }]);
  }
}

export class PlatformWebhookForbiddenError extends DomainError {
  static create(): PlatformWebhookForbiddenError {
    return new PlatformWebhookForbiddenError(
      'forbidden',
      'WEBHOOK.FORBIDDEN',
      'Only an admin key may manage platform-wide endpoints or endpoints of another tenant',
    );
  }
}
