import { redactTokens } from './redact-tokens.js';
import { storableText } from './storable-text.js';
import type { ApiKeyPrincipal } from './api-key-principal.js';

/** A refused authentication or authorization, as the guard saw it. Never holds a secret. */
export interface AccessRefusal {
  status: 401 | 403;
  /** The error code the caller got, e.g. `AUTH.REVOKED`, `AUTH.INSUFFICIENT_SCOPE`. */
  reason: string;
  /** The publicId of the key presented, when it had a key's shape; never the secret. */
  publicId: string | null;
  /** The verified caller when only its scopes fell short (a 403). */
  principal: ApiKeyPrincipal | null;
}

interface RequestLike {
  id?: string;
  method?: string;
  routeOptions?: { url?: string };
  params?: unknown;
}

/** `POST /admin/api-keys/:id/rotate`: the route pattern, so no caller input is in it. */
export function routeOf(request: RequestLike): string {
  return `${request.method ?? '?'} ${request.routeOptions?.url ?? '(no route)'}`;
}

/** The key the route names (`:id`), made safe to log and store (a key pasted there is redacted); null on routes without one. */
export function targetOf(request: RequestLike): string | null {
  const id = (request.params as Record<string, unknown> | null | undefined)?.id;
  return typeof id === 'string' ? storableText(redactTokens(id), 128) : null;
}

/** The structured log line for a refusal: who, where, what, and why. */
export function refusalLogRecord(request: RequestLike, status: number, reason: string, publicId: string | null): Record<string, unknown> {
  return {
    msg: 'access refused',
    event: 'access.refused',
    outcome: 'refused',
    status,
    reason,
    actor: publicId,
    route: routeOf(request),
    target: targetOf(request),
    requestId: request.id ?? null,
  };
}
