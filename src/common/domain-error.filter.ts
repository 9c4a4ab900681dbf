import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { isConnectionError } from '../database/connection-errors.js';
import { DomainError, type DomainErrorKind, type FieldError } from './domain-error.js';
import { redactTokens } from './redact-tokens.js';

export interface ErrorBody {
  statusCode: number;
  code: string;
  message: string;
  details?: FieldError[];
}

const STATUS: Record<DomainErrorKind, number> = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'precondition-failed': 412,
  unprocessable: 422,
  'rate-limited': 429,
};

const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Sent with every 503: a client should wait about this long. Background tasks retry with a
 * backoff capped at 5 s, so the first request after the database returns usually succeeds.
 */
export const RETRY_AFTER_SECONDS = 5;

/** Error messages echo client input (an id, a scope, a path); a key pasted there must not come back. */
export function toErrorBody(error: unknown): ErrorBody {
  const body = rawErrorBody(error);
  return {
    ...body,
    message: redactTokens(body.message),
    ...(body.details ? { details: body.details.map((d) => ({ field: redactTokens(d.field), message: redactTokens(d.message) })) } : {}),
  };
}

function rawErrorBody(error: unknown): ErrorBody {
  if (error instanceof DomainError) {
    return { statusCode: STATUS[error.kind], code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const raw = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    const message = Array.isArray(raw) ? raw.map(String).join('; ') : typeof raw === 'string' ? raw : error.message;
    return { statusCode: status, code: HTTP_CODES[status] ?? `HTTP_${status}`, message };
  }
  if (isConnectionError(error)) {
    // Never the driver's words: they name the database's host and port.
    return { statusCode: 503, code: 'SERVICE_UNAVAILABLE', message: `The database is unreachable right now; retry in ${RETRY_AFTER_SECONDS} seconds.` };
  }
  // Errors raised by Fastify itself (bad JSON, body too large, wrong content type) carry a 4xx statusCode.
  const fastifyStatus = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof fastifyStatus === 'number' && fastifyStatus >= 400 && fastifyStatus < 500) {
    const raw = (error as Error).message;
    const message = fastifyStatus === 400 && /JSON/i.test(raw) ? `The request body is not valid JSON: ${raw}` : raw;
    return { statusCode: fastifyStatus, code: HTTP_CODES[fastifyStatus] ?? `HTTP_${fastifyStatus}`, message };
  }
  return { statusCode: 500, code: 'INTERNAL', message: 'An unexpected error occurred; it has been logged.' };
}

/** The one place where errors become HTTP responses: `{ statusCode, code, message, details? }`. */
@Catch()
export class DomainErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const body = toErrorBody(error);
    if (body.statusCode === 503) {
      // An outage fails every request: one short line each, not a stack trace each.
      this.logger.warn(`${body.code}: ${error instanceof Error ? error.message : String(error)}`);
    } else if (body.statusCode >= 500) {
      this.logger.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    // Through the adapter, so the filter serves Fastify and Express apps alike.
    const { httpAdapter } = this.adapterHost;
    const response: unknown = host.switchToHttp().getResponse();
    if (body.statusCode === 401) httpAdapter.setHeader(response, 'WWW-Authenticate', 'Bearer realm="keyledger"');
    if (body.statusCode === 503) httpAdapter.setHeader(response, 'Retry-After', String(RETRY_AFTER_SECONDS));
    httpAdapter.reply(response, body, body.statusCode);
  }
}
