import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { RETRY_AFTER_SECONDS, toErrorBody } from '../common/domain-error.filter.js';
import { GuardUnavailableError, InsufficientScopeError, UnauthenticatedError } from './auth.errors.js';

/**
 * Renders the guard's errors as 401/403 (and 503 when it fails closed) in keyledger's one error shape,
 * `{ statusCode, code, message }` (plus `WWW-Authenticate` on a 401), in any NestJS app.
 * ApiKeyAuthModule registers it (APP_FILTER), so a sibling service that has no keyledger error
 * filter answers 401/403, not 500. It catches nothing else; in the registry the app-wide
 * DomainErrorFilter renders these errors identically.
 */
@Catch(UnauthenticatedError, InsufficientScopeError, GuardUnavailableError)
export class ApiKeyErrorFilter implements ExceptionFilter<UnauthenticatedError | InsufficientScopeError | GuardUnavailableError> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: UnauthenticatedError | InsufficientScopeError | GuardUnavailableError, host: ArgumentsHost): void {
    const body = toErrorBody(error);
    // Through the adapter, so the filter serves Fastify and Express apps alike.
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    if (body.statusCode === 401) httpAdapter.setHeader(response, 'WWW-Authenticate', 'Bearer realm="keyledger"');
    if (body.statusCode === 503) httpAdapter.setHeader(response, 'Retry-After', String(RETRY_AFTER_SECONDS));
    httpAdapter.reply(response, body, body.statusCode);
  }
}
