// The shapes of the REST API's responses, as the console reads them.

export type KeyStatus = 'active' | 'expired' | 'revoked';

/** Why a key was revoked or expired, as the API's REASON_CODES. */
export const REASON_CODES = ['compromised', 'leaked', 'superseded', 'unused', 'policy', 'offboarding', 'other'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export const REASON_LABELS: Record<ReasonCode, string> = {
  compromised: 'Compromised',
  leaked: 'Leaked (secret found where it should not be)',
  superseded: 'Superseded by another key',
  unused: 'Unused',
  policy: 'Policy',
  offboarding: 'Offboarding',
  other: 'Other',
};

/** `leaked (found in a CI log)`: a code with its free text, as the detail and audit pages show it. */
export function describeReason(reasonCode: ReasonCode | null, reason: string | null): string | null {
  if (reasonCode === null) return reason;
  return reason ? `${reasonCode} (${reason})` : reasonCode;
}

export interface KeyView {
  id: string;
  publicId: string;
  name: string;
  tenantId: string;
  scopes: string[];
  tags: Record<string, string>;
  status: KeyStatus;
  expiresAt: string | null;
  graceEndsAt: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  /** Expired: `ttl` or `manual`; revoked: the reason given. null while active. */
  reason: string | null;
  reasonCode: ReasonCode | null;
  /** In GET and the list only: the last accepted use written by any instance (up to USAGE_FLUSH_MS late), null if never. */
  lastUsedAt?: string | null;
  lastUsedIp?: string | null;
  lastUsedUserAgent?: string | null;
}

/** Verifications of one UTC day, by outcome. */
export interface UsageDay {
  day: string;
  valid: number;
  insufficientScope: number;
  expired: number;
  revoked: number;
}

export interface UsagePage {
  days: number;
  items: UsageDay[];
}

export interface KeyWithSecret extends KeyView {
  key: string | null;
}

/** POST /admin/api-keys/report-leak: never the token. */
export type LeakReport = { label: 'false_positive' } | { label: 'true_positive'; keyId: string; publicId: string; revoked: boolean };

export interface KeyPage {
  items: KeyView[];
  nextCursor: string | null;
}

/** Who wrote an event: a key with its publicId and its name when it acted; `cli:<user>` or `system:<part>` otherwise. */
export interface Actor {
  type: string | null;
  id: string | null;
  publicId: string | null;
  name: string | null;
}

/** What an event changed: `{field: {from, to}}`, the same in the history and the audit log. */
export type Changes = Record<string, { from: unknown; to: unknown }>;

export interface KeyHistoryItem {
  type: string;
  version: number;
  position: number;
  occurredAt: string;
  recordedAt: string;
  actor: Actor | null;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  reason: string | null;
  reasonCode: ReasonCode | null;
  changes: Changes;
}

export interface KeyHistoryPage {
  items: KeyHistoryItem[];
  nextCursor: string | null;
}

export interface AuditEntry {
  seq: number;
  position: number;
  recordedAt: string;
  occurredAt: string;
  type: string;
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  actor: Actor;
  requestId: string | null;
  ip: string | null;
  userAgent: string | null;
  reason: string | null;
  reasonCode: ReasonCode | null;
  changes: Changes;
  chainHash: string;
}

export interface AuditPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

export interface AuditDigest {
  position: number;
  events: number;
  chainHash: string;
  at: string;
  digest: string;
}

export interface VerifyResult {
  ok: boolean;
  checkedEvents: number;
  headPosition: number;
  chainHash: string;
  firstMismatch?: { position: number; reason: string };
  digest?: { position: number; chainHash: string; matches: boolean };
}

export interface ConsoleSession {
  keyId: string;
  publicId: string;
  name: string | null;
  tenantId: string;
  scopes: string[];
  expiresAt: string | null;
  admin: boolean;
  canManageKeys: boolean;
  canReadAudit: boolean;
  canManageWebhooks: boolean;
}

export interface TailEvent {
  position: number;
  type: string;
  version: number;
  keyId: string | null;
  publicId: string | null;
  tenantId: string | null;
  name: string | null;
  actor: Actor | null;
  recordedAt: string;
}

export interface FieldError {
  field: string;
  message: string;
}

export const EVENT_TYPES = ['key.created', 'key.rotated', 'key.expired', 'key.revoked', 'key.updated', 'policy.changed'] as const;

export const EVENT_LABELS: Record<string, string> = {
  'key.created': 'Created',
  'key.rotated': 'Rotated',
  'key.expired': 'Expired',
  'key.revoked': 'Revoked',
  'key.updated': 'Updated',
  'policy.changed': 'Policy changed',
};

/** The key policy settings (null: not set at that level; docs/api.md, "Key policy"). */
export interface PolicySettings {
  maxLifetimeDays: number | null;
  defaultLifetimeDays: number | null;
  requireExpiry: boolean | null;
  maxGracePeriodSeconds: number | null;
  allowedScopes: string[] | null;
  inactiveAfterDays: number | null;
}

export type PolicySetting = keyof PolicySettings;

export interface PolicyView {
  tenantId: string | null;
  version: number;
  policy: PolicySettings;
  effective: Record<PolicySetting, { value: unknown; source: 'tenant' | 'platform' | null }>;
}

export interface PolicyViolations {
  total: number;
  truncated: boolean;
  keys: { id: string; publicId: string; tenantId: string; name: string; breaches: { rule: string; limit: unknown; got: unknown }[] }[];
}

/** What an endpoint can subscribe to, as the API's DELIVERABLE_EVENT_TYPES (docs/webhooks.md). */
export const WEBHOOK_EVENT_TYPES = [
  'key.created',
  'key.rotated',
  'key.updated',
  'key.revoked',
  'key.expired',
  'key.leaked',
  'key.expiring',
] as const;

export interface WebhookEndpoint {
  id: string;
  /** null: platform-wide (every tenant's keys). */
  tenantId: string | null;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  /** Why keyledger or an admin disabled it. */
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

/** POST /admin/webhooks: the signing secret (`whsec_…`) is in this response only. */
export interface WebhookWithSecret extends WebhookEndpoint {
  secret: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  /** The webhook-id header: the same on every attempt and redelivery. */
  messageId: string;
  eventType: string;
  keyId: string;
  status: DeliveryStatus;
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  responseStatus: number | null;
  /** The first 1 KB of the last response. */
  responseBody: string | null;
  error: string | null;
  redeliveryOf: string | null;
}

export interface DeliveryPage {
  items: Delivery[];
  /** `?before=` for the next (older) page; null on the last. */
  nextBefore: number | null;
}
