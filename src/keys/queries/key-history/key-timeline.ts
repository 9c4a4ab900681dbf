import { keyIdOfStream } from '@keyledger/nestjs/internal';
import type { RecordedEvent } from '../../../event-store/index.js';
import type { StoredKeyEvent } from '../../domain/key-events.js';
import { reasonCodeOf, type ReasonCode } from '../../domain/reason-code.js';
import { occurredAt as occurredAtOf, toKeyEvent } from '../../key-repository.js';
import type { PolicyChangedPayload } from '../../policy/policy-changed.event.js';
import { policyTenantOfStream } from '../../policy/policy-stream.js';

/** What an event changed: every field as `{ from, to }`, `from` null where there was no value before. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

/**
 * Who wrote an event, as the history and the audit log show it. `api-key`: `id` is the acting
 * key's keyId, `publicId` and `name` what that key's own events said when it acted (not its name
 * today). `cli`: `id` is `cli:<os user>`. `system`: `id` names the part of keyledger that acted
 * (`system:expiry-sweeper`, `system:bootstrap`; `system` in events written before it was named).
 * `publicId` and `name` are null for anything but a key.
 */
export interface ActorRef {
  type: string | null;
  id: string | null;
  publicId: string | null;
  name: string | null;
}

/** One event of a key, described against the key as it stood just before it. */
export interface TimelineEntry {
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  occurredAt: string | Date;
  actor: ActorRef;
  /** Why a key was expired (`ttl`, `manual`) or revoked (the admin's reason). */
  reason: string | null;
  /** The expiry's or revocation's code (`other` for events written before codes); null for other events. */
  reasonCode: ReasonCode | null;
  changes: Changes;
  /** Only for an event this code cannot read: why. */
  unreadable?: { schemaVersion: number; problem: string };
}

/** What the timeline remembers of a key after its last applied event. */
interface KeyState {
  publicId: string;
  tenantId: string;
  name: string;
  expiresAt: string | null;
  graceEndsAt: string | null;
  status: 'active' | 'expired' | 'revoked';
}

const NO_ACTOR: ActorRef = { type: null, id: null, publicId: null, name: null };

function str(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/** The actor keys an event names (none for the CLI and the system). */
export function actorKeyId(e: RecordedEvent): string | null {
  const actor = e.metadata.actor as { type?: unknown; id?: unknown } | undefined;
  return actor?.type === 'api-key' && typeof actor.id === 'string' ? actor.id : null;
}

/** Chain order: (transaction_id, position), the order the audit log and its hash chain use. */
export function compareChainOrder(a: RecordedEvent, b: RecordedEvent): number {
  const ta = BigInt(a.transactionId);
  const tb = BigInt(b.transactionId);
  return ta === tb ? a.position - b.position : ta < tb ? -1 : 1;
}

/**
 * Every key's state, moved on event by event in chain order, and each event described against the
 * state before it: the one definition of an event's `changes` and actor, used by the key history
 * (/admin/api-keys/:id/events), the audit projection and its verifier. An acting key's publicId
 * and name come from its own events up to that point, so the audit log and the history show the
 * name the key had when it acted.
 */
export class KeyTimeline {
  /** `keys`: the state of keys whose earlier events were applied elsewhere (a rebuild keeps them all). */
  constructor(private readonly keys = new Map<string, KeyState>()) {}

  /** Applies the next event in chain order and describes it. */
  apply(e: RecordedEvent): TimelineEntry {
    const keyId = keyIdOfStream(e.streamId) ?? null;
    const actor = this.actorOf(e);
    if (keyId === null) return e.streamId.startsWith(WEBHOOK_STREAM_PREFIX) ? describeSelf(e, actor) : describeOther(e, actor);
    const event = toKeyEvent(e);
    const before = this.keys.get(keyId);
    const { changes, reason, reasonCode = null, after } = describe(event, before);
    if (after !== before && after !== undefined) this.keys.set(keyId, after);
    const state = after ?? before;
    return {
      keyId,
      publicId: state?.publicId ?? null,
      tenantId: state?.tenantId ?? null,
      occurredAt: occurredAtOf(event, e),
      actor,
      reason,
      reasonCode,
      changes,
      ...(event.type === 'unreadable' ? { unreadable: { schemaVersion: event.schemaVersion, problem: event.problem } } : {}),
    };
  }

  private actorOf(e: RecordedEvent): ActorRef {
    const actor = e.metadata.actor as { type?: unknown; id?: unknown } | undefined;
    if (actor === undefined || actor === null) return NO_ACTOR;
    const type = str(actor.type);
    const id = str(actor.id);
    const key = type === 'api-key' && id !== null ? this.keys.get(id) : undefined;
    return { type, id, publicId: key?.publicId ?? null, name: key?.name ?? null };
  }
}

/**
 * An event of no key: a policy change names its tenant (null for the platform default) and its
 * changes, as the event recorded them; anything else, nothing.
 */
function describeOther(e: RecordedEvent, actor: ActorRef): TimelineEntry {
  const tenant = policyTenantOfStream(e.streamId);
  const payload = e.payload as Partial<PolicyChangedPayload> | null;
  if (tenant === undefined || e.type !== 'policy.changed' || typeof payload !== 'object' || payload === null) {
    return { keyId: null, publicId: null, tenantId: null, occurredAt: e.recordedAt, actor, reason: null, reasonCode: null, changes: {} };
  }
  const changes: Changes = {};
  for (const [field, value] of Object.entries(payload.changes ?? {})) changes[field] = change(value.from, value.to);
  return {
    keyId: null,
    publicId: null,
    tenantId: tenant,
    occurredAt: payload.occurredAt ?? e.recordedAt,
    actor,
    reason: null,
    reasonCode: null,
    changes,
  };
}

/** The streams of webhook endpoints (src/webhooks): their events name their tenant and changes themselves. */
const WEBHOOK_STREAM_PREFIX = 'webhook-';

function isChanges(value: unknown): value is Changes {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((c) => typeof c === 'object' && c !== null && 'from' in c && 'to' in c)
  );
}

/** An event that describes itself (a webhook endpoint's): its payload's tenantId, changes and reason, as written. */
function describeSelf(e: RecordedEvent, actor: ActorRef): TimelineEntry {
  const p = (typeof e.payload === 'object' && e.payload !== null ? e.payload : {}) as {
    tenantId?: unknown;
    changes?: unknown;
    reason?: unknown;
  };
  const changes: Changes = {};
  if (isChanges(p.changes)) for (const [field, c] of Object.entries(p.changes)) changes[field] = change(c.from, c.to);
  return {
    keyId: null,
    publicId: null,
    tenantId: str(p.tenantId),
    occurredAt: e.recordedAt,
    actor,
    reason: str(p.reason),
    reasonCode: null,
    changes,
  };
}

function change(from: unknown, to: unknown): { from: unknown; to: unknown } {
  return { from: from ?? null, to: to ?? null };
}

/** The event's changes and reason against the key's state before it, and the state after it. */
function describe(
  event: StoredKeyEvent,
  before: KeyState | undefined,
): { changes: Changes; reason: string | null; reasonCode?: ReasonCode; after: KeyState | undefined } {
  switch (event.type) {
    case 'unreadable': // kept in its place, changing nothing (see UnreadableKeyEvent)
      return { changes: {}, reason: null, after: before };
    case 'key.created': {
      const p = event.payload;
      return {
        changes: {
          name: change(null, p.name),
          scopes: change(null, p.scopes),
          tags: change(null, p.tags),
          expiresAt: change(null, p.expiresAt),
        },
        reason: null,
        after: { publicId: p.publicId, tenantId: p.tenantId, name: p.name, expiresAt: p.expiresAt, graceEndsAt: null, status: 'active' },
      };
    }
    case 'key.rotated': {
      const p = event.payload;
      return {
        changes: { graceEndsAt: change(before?.graceEndsAt, p.graceEndsAt), expiresAt: change(before?.expiresAt, p.expiresAt) },
        reason: null,
        after: before && { ...before, graceEndsAt: p.graceEndsAt, expiresAt: p.expiresAt },
      };
    }
    case 'key.updated': {
      const c = event.payload.changes;
      const changes: Changes = {};
      for (const [field, value] of Object.entries(c) as [string, { from: unknown; to: unknown } | undefined][]) {
        if (value !== undefined) changes[field] = change(value.from, value.to);
      }
      const after = before && {
        ...before,
        ...(c.name ? { name: c.name.to } : {}),
        ...(c.expiresAt ? { expiresAt: c.expiresAt.to } : {}),
      };
      return { changes, reason: null, after };
    }
    case 'key.expired':
    case 'key.revoked': {
      const status = event.type === 'key.expired' ? 'expired' : 'revoked';
      return {
        changes: { status: change(before?.status, status) },
        reason: event.payload.reason,
        reasonCode: reasonCodeOf(event.payload),
        after: before && { ...before, status },
      };
    }
  }
}
