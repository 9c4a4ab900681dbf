import { applyDecorators } from '@nestjs/common';
import { ApiResponse, DECORATORS } from '@nestjs/swagger';
import { ErrorResponseDto } from './error-response.dto.js';

/** What each error status means where a route does not say more (docs/api.md has the codes). */
const MEANINGS = {
  400: 'Invalid input (`details` names each field), or a body that is not valid JSON',
  401: 'No key, or a malformed, unknown, expired or revoked key (`WWW-Authenticate`)',
  403: 'The key lacks a required scope, or the target is outside its tenant or authority',
  404: "No such key, or another tenant's",
  409: 'The key is expired or revoked, or a concurrent change won',
  412: '`If-Match` does not match the current version',
  413: 'The body is larger than 256 KiB',
  414: 'A path segment is longer than 100 characters',
  415: 'The request has a body that is not `application/json`',
  422: 'The request is well-formed but cannot be applied',
  429: 'Too many requests; see `Retry-After` where sent',
  503:
    "The database is unreachable, or this instance's guard has been cut off from it past its bound and fails closed; " +
    'retry after `Retry-After` seconds',
} as const;

export type ErrorStatus = keyof typeof MEANINGS;

/** Statuses the transport can send for any operation: a body that is not JSON (http-transport.ts). */
export const TRANSPORT_ERROR_RESPONSES = [{ status: 415, type: ErrorResponseDto, description: MEANINGS[415] }];

function errorResponse(status: ErrorStatus, description: string | undefined): MethodDecorator {
  return (target, key, descriptor) => {
    // A description the route already has for this status (its own, or a method-level @RequireApiKey's) is kept.
    const existing = (
      Reflect.getMetadata(DECORATORS.API_RESPONSE, descriptor.value as object) as Record<number, { description?: string }> | undefined
    )?.[status];
    const text = existing?.description ? '' : (description ?? MEANINGS[status]);
    return ApiResponse({ status, type: ErrorResponseDto, description: text })(target, key, descriptor);
  };
}

/**
 * Documents error statuses in the one error shape. On a controller it is applied to each of its
 * routes, so that a route's own decorators for the same status (a method-level `@RequireApiKey`'s
 * 401/403/503) merge with it instead of replacing it.
 */
export function ApiErrorResponses(
  ...statuses: (ErrorStatus | { status: ErrorStatus; description: string })[]
): ClassDecorator & MethodDecorator {
  const decorate = applyDecorators(
    ...statuses.map((s) => (typeof s === 'number' ? errorResponse(s, undefined) : errorResponse(s.status, s.description))),
  );
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor !== undefined) {
      decorate(target, key, descriptor);
      return;
    }
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name)!;
      if (name !== 'constructor' && typeof method.value === 'function') decorate(prototype, name, method);
    }
  };
}
