import type { ActorRef, Changes, KeyHistoryItem, KeyView } from '../../keys/index.js';
import { describeInstant, renderFields, renderTable, truncate } from '../output.js';

function tags(view: KeyView): string {
  return Object.entries(view.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}

/** Expired and revoked keys say so in capitals: they are the rows a reader must not miss. */
export function statusLabel(view: KeyView): string {
  if (view.status === 'active') return view.graceEndsAt ? 'active (grace)' : 'active';
  return view.status.toUpperCase();
}

export function renderKey(view: KeyView, now: Date): string {
  return renderFields([
    ['id', view.id],
    ['publicId', view.publicId],
    ['tenant', view.tenantId],
    ['name', view.name],
    ['status', statusLabel(view)],
    ['scopes', view.scopes.join(', ')],
    ['tags', tags(view)],
    ['expires', describeInstant(view.expiresAt, now) ?? 'never'],
    ...(view.reasonCode === null ? [] : ([['reason', `${view.reasonCode}${view.reason ? ` (${view.reason})` : ''}`]] as const)),
    ...(view.graceEndsAt && view.status === 'active'
      ? ([['previous secret valid until', describeInstant(view.graceEndsAt, now)]] as const)
      : []),
    ['created', view.createdAt],
    ['updated', view.updatedAt],
    ['version', view.version],
    // Only where the key was read (show), not in a command's answer.
    ...(view.lastUsedAt === undefined ? [] : ([['last used', lastUse(view, now)]] as const)),
  ]);
}

/** `2026-12-05T12:00:00.000Z (3 minutes ago) from 10.0.0.7, curl/8.5.0`, or `never`. */
function lastUse(view: KeyView, now: Date): string {
  if (!view.lastUsedAt) return 'never';
  const from = [view.lastUsedIp, view.lastUsedUserAgent].filter(Boolean).join(', ');
  return `${describeInstant(view.lastUsedAt, now)}${from ? ` from ${from}` : ''}`;
}

export function renderKeyTable(items: readonly KeyView[]): string {
  return renderTable(
    ['ID', 'PUBLIC ID', 'TENANT', 'NAME', 'STATUS', 'SCOPES', 'EXPIRES', 'CREATED', 'LAST USED'],
    items.map((k) => [
      k.id,
      k.publicId,
      k.tenantId,
      truncate(k.name, 40),
      statusLabel(k),
      truncate(k.scopes.join(','), 40),
      k.expiresAt,
      k.createdAt,
      k.lastUsedAt ?? 'never',
    ]),
  );
}

/** What an event changed, in a few words: `reason: leaked (found in a CI log)`, `changed: scopes, tags`. */
export function summarizeChanges({
  type,
  changes,
  reason,
  reasonCode,
}: {
  type: string;
  changes: Changes;
  reason: string | null;
  reasonCode: string | null;
}): string {
  if (reasonCode) return `reason: ${reasonCode}${reason ? ` (${reason})` : ''}`;
  if (reason) return `reason: ${reason}`;
  if (type === 'key.created') {
    const name = changes.name?.to;
    const scopes = changes.scopes?.to;
    const parts = [
      typeof name === 'string' ? `name "${name}"` : null,
      Array.isArray(scopes) && scopes.length > 0 ? `scopes ${scopes.join(',')}` : null,
    ];
    return parts.filter(Boolean).join(', ');
  }
  if (type === 'key.rotated') {
    const grace = changes.graceEndsAt?.to;
    return typeof grace === 'string' ? `previous secret valid until ${grace}` : 'previous secret invalid at once';
  }
  const fields = Object.keys(changes);
  return fields.length > 0 ? `changed: ${fields.join(', ')}` : '';
}

/** An actor as the tables show it: a key by its name then and publicId (`ops (a1B2c3D4e5F6)`), else its id (`cli:alice`, `system:expiry-sweeper`). */
export function actorLabel(actor: ActorRef | null): string | null {
  if (actor === null) return null;
  if (actor.type === 'api-key' && actor.publicId !== null) return `${actor.name ?? '?'} (${actor.publicId})`;
  return actor.id;
}

export function renderHistory(items: readonly KeyHistoryItem[]): string {
  return renderTable(
    ['VERSION', 'RECORDED', 'EVENT', 'ACTOR', 'DETAILS'],
    items.map((e) => [e.version, e.recordedAt, e.type, actorLabel(e.actor), truncate(summarizeChanges(e), 80)]),
  );
}
