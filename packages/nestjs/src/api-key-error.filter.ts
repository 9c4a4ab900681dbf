import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiKeyAuthError } from './auth.errors.js';

/** Sent with a 503: the replica resyncs with a backoff capped at 5 s. */
const RETRY_AFTER_SECONDS = 5;

/**
 * Renders the guard's errors as 401/403 (and 503 when it fails closed) in keyledger's one error shape,
 * `{ statusCode, code, message }` (plus `WWW-Authenticate` on a 401), in any NestJS app.
 * ApiKeyAuthModule registers it (APP_FILTER), so a sibling service that has no keyledger error
 * filter answers 401/403, not 500. It catches nothing else; in the registry the app-wide
 * DomainErrorFilter renders these errors identically.
 */
@Catch(ApiKeyAuthError)
export class ApiKeyErrorFilter implements ExceptionFilter<ApiKeyAuthError> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: ApiKeyAuthError, host: ArgumentsHost): void {
    const body = { statusCode: error.statusCode, code: error.code, message: error.message };
    // Through the adapter, so the filter serves Fastify and Express apps alike.
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    if (body.statusCode === 401) httpAdapter.setHeader(response, 'WWW-Authenticate', 'Bearer realm="keyledger"');
    if (body.statusCode === 503) httpAdapter.setHeader(response, 'Retry-After', String(RETRY_AFTER_SECONDS));
    httpAdapter.reply(response, body, body.statusCode);
  }
}
