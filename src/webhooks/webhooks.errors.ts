import { DomainError } from '../common/index.js';

export class WebhookNotFoundError extends DomainError {
  static withId(_id: string): WebhookNotFoundError {
    return new WebhookNotFoundError('not-found', 'WEBHOOK.NOT_FOUND', 'No webhook endpoint with that id was found');
  }
}

export class DeliveryNotFoundError extends DomainError {
  static withId(_id: string): DeliveryNotFoundError {
    return new DeliveryNotFoundError('not-found', 'WEBHOOK.DELIVERY_NOT_FOUND', 'This endpoint has no delivery with that id');
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
