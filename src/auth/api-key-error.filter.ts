import { Catch, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { toErrorBody } from '../common/domain-error.filter.js';
import { InsufficientScopeError, UnauthenticatedError } from './auth.errors.js';

/**
 * Renders the guard's two errors as 401/403 in keyledger's one error shape,
 * `{ statusCode, code, message }` (plus `WWW-Authenticate` on a 401), in any NestJS app.
 * ApiKeyAuthModule registers it (APP_FILTER), so a sibling service that has no keyledger error
 * filter answers 401/403, not 500. It catches nothing else; in the registry the app-wide
 * DomainErrorFilter renders these errors identically.
 */
@Catch(UnauthenticatedError, InsufficientScopeError)
export class ApiKeyErrorFilter implements ExceptionFilter<UnauthenticatedError | InsufficientScopeError> {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: UnauthenticatedError | InsufficientScopeError, host: ArgumentsHost): void {
    const body = toErrorBody(error);
    // Through the adapter, so the filter serves Fastify and Express apps alike.
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    if (body.statusCode === 401) httpAdapter.setHeader(response, 'WWW-Authenticate', 'Bearer realm="keyledger"');
    httpAdapter.reply(response, body, body.statusCode);
  }
}
