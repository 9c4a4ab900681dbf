import type { ApiKeyPrincipal } from '@keyledger/nestjs';
import { requestInfo, ValidationError } from '../../common/index.js';
import type { Actor, CommandContext } from '../command-context.js';

export function actorOf(principal: ApiKeyPrincipal): Actor {
  return { type: 'api-key', id: principal.keyId, tenantId: principal.tenantId, scopes: principal.scopes };
}

export function commandContext(principal: ApiKeyPrincipal, request: Parameters<typeof requestInfo>[0]): CommandContext {
  return { actor: actorOf(principal), ...requestInfo(request) };
}

/** ISO strings from validated DTOs; undefined stays undefined and null stays null (it removes an expiry). */
export function toDate<T extends string | null | undefined>(value: T): T extends string ? Date : Exclude<T, string> {
  return (typeof value === 'string' ? new Date(value) : value) as T extends string ? Date : Exclude<T, string>;
}

/** `If-Match: "3"` (or W/"3", or 3) → 3: the version of what it names (a key, a policy, a webhook endpoint). */
export function parseIfMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"?(\d{1,9})"?\s*$/.exec(header);
  if (!match) throw ValidationError.field('If-Match', 'must be the ETag you read (its version), e.g. "3"');
  return Number(match[1]);
}
