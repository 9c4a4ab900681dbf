import type { EventMetadata } from '../event-store/index.js';

/**
 * Who issued a command. `scopes: null` is an unrestricted operator (the CLI or the system itself);
 * an API key actor is limited by its scopes and, without `admin`, by its tenant.
 */
export interface Actor {
  readonly type: 'api-key' | 'cli' | 'system';
  readonly id: string;
  readonly tenantId: string | null;
  readonly scopes: readonly string[] | null;
}

export interface CommandContext {
  readonly actor: Actor;
  readonly requestId: string;
  readonly ip?: string;
  readonly userAgent?: string;
}

export const SYSTEM_ACTOR: Actor = Object.freeze({ type: 'system', id: 'system', tenantId: null, scopes: null });

/** keyledger itself, naming the part that acts (`system:expiry-sweeper`), so the history and audit log say which. */
export function systemActor(part: string): Actor {
  return Object.freeze({ ...SYSTEM_ACTOR, id: `system:${part}` });
}

export function eventMetadata(ctx: CommandContext): EventMetadata {
  return {
    actor: { type: ctx.actor.type, id: ctx.actor.id },
    requestId: ctx.requestId,
    ...(ctx.ip ? { ip: ctx.ip } : {}),
    ...(ctx.userAgent ? { userAgent: ctx.userAgent } : {}),
  };
}
