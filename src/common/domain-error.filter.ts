import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ApiKeyAuthError, redactTokens } from '@keyledger/nestjs';
import { isConnectionError } from '@keyledger/nestjs/internal';
import { DomainError, type DomainErrorKind, type FieldError } from './domain-error.js';

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
  unavailable: 503,
};

const HTTP_CODES: Record<number, string> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHENTICATED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_ALLOWED',
  406: 'NOT_ACCEPTABLE',
  408: 'REQUEST_TIMEOUT',
  409: 'CONFLICT',
  411: 'LENGTH_REQUIRED',
  413: 'PAYLOAD_TOO_LARGE',
  414: 'URI_TOO_LONG',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'RATE_LIMITED',
  431: 'HEADERS_TOO_LARGE',
  503: 'SERVICE_UNAVAILABLE',
};

/**
 * Sent with every 503: a client should wait about this long. Background tasks retry with a
 * backoff capped at 5 s, so the first request after the database returns usually succeeds.
 */
export const RETRY_AFTER_SECONDS = 5;

/**
 * What a framework refusal (Fastify's router, body parsers and limits, Nest's 404) says. Their own
 * messages name the framework and quote the URL, the body or the content type; these do neither.
 */
const HTTP_MESSAGES: Record<number, string> = {
  400: 'The request is malformed: check its URL, headers and body',
  404: 'No route matches this method and path: see /docs for the API',
  405: 'This method is not allowed on this path',
  408: 'The request took too long to arrive',
  411: 'This request needs a Content-Length header',
  413: 'The request body is larger than the 256 KiB limit',
  414: 'The URL or one of its path segments is too long',
  415: 'Send the request body as application/json',
  431: 'The request headers are too large',
};

const FASTIFY_BAD_JSON = new Set(['FST_ERR_CTP_INVALID_JSON_BODY', 'FST_ERR_CTP_EMPTY_JSON_BODY']);

/** The error body for a refusal by the HTTP layer itself: a status, its code and a fixed message. */
export function httpErrorBody(statusCode: number, message?: string): ErrorBody {
  return {
    statusCode,
    code: HTTP_CODES[statusCode] ?? `HTTP_${statusCode}`,
    message: message ?? HTTP_MESSAGES[statusCode] ?? 'The request cannot be served as sent',
  };
}

/** Error messages echo client input (a scope, a field name); a key pasted there must not come back. */
export function toErrorBody(error: unknown): ErrorBody {
  const body = rawErrorBody(error);
  return {
    ...body,
    message: redactTokens(body.message),
    ...(body.details
      ? { details: body.details.map((d) => ({ ...d, field: redactTokens(d.field), message: redactTokens(d.message) })) }
      : {}),
  };
}

function rawErrorBody(error: unknown): ErrorBody {
  if (error instanceof DomainError) {
    return {
      statusCode: STATUS[error.kind],
      code: error.code,
      message: error.message,
      ...(error.details ? { details: error.details } : {}),
    };
  }
  // The guard's refusals (401/403, 503 when it fails closed), as its own ApiKeyErrorFilter renders them.
  if (error instanceof ApiKeyAuthError) return { statusCode: error.statusCode, code: error.code, message: error.message };
  if (isConnectionError(error)) {
    // Never the driver's words: they name the database's host and port.
    return {
      statusCode: 503,
      code: 'SERVICE_UNAVAILABLE',
      message: `The database is unreachable right now; retry in ${RETRY_AFTER_SECONDS} seconds.`,
    };
  }
  // Nest's own (its 404 says "Cannot GET <path>") and Fastify's (bad JSON, body too large, wrong
  // content type) carry a 4xx status; their messages quote the request, so a fixed one is sent.
  const status = error instanceof HttpException ? error.getStatus() : (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // Nest hands Fastify's own errors over as an HttpException with the original as its cause.
    const fastifyCode = ((error as { cause?: { code?: unknown } }).cause ?? (error as { code?: unknown })).code;
    const badJson = typeof fastifyCode === 'string' && FASTIFY_BAD_JSON.has(fastifyCode);
    return httpErrorBody(status, badJson ? 'The request body is not valid JSON' : undefined);
  }
  // A 5xx the server chose (e.g. 503 while the database is unreachable) says what it means.
  if (error instanceof HttpException) return httpErrorBody(error.getStatus(), error.message);
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
