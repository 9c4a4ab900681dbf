// The shapes of the REST API's responses, as the console reads them: the schemas of the server's
// OpenAPI document (api.gen.ts, `npm run openapi:types`), plus what only the console needs.
import type { components, operations } from './api.gen';

type Schema<Name extends keyof components['schemas']> = components['schemas'][Name];

/**
 * Every member of a union the API defines, in the order given: a value outside the union or a
 * member left out does not compile, so a server change that adds or drops one fails the console's build.
 */
function every<Union extends string>() {
  return <const List extends readonly Union[]>(
    list: List & ([Exclude<Union, List[number]>] extends [never] ? unknown : { missing: Exclude<Union, List[number]> }),
  ): List => list;
}

export type KeyView = Schema<'KeyResponseDto'>;
export type KeyStatus = KeyView['status'];
export type ReasonCode = NonNullable<KeyView['reasonCode']>;

/** Why a key was revoked or expired, as the API's REASON_CODES. */
export const REASON_CODES = every<ReasonCode>()(['compromised', 'leaked', 'superseded', 'unused', 'policy', 'offboarding', 'other']);

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

/** Verifications of one UTC day, by outcome. */
export type UsageDay = Schema<'UsageDayResponseDto'>;
/** A key's usage, or a tenant's. */
export type UsagePage = Schema<'KeyUsageResponseDto'> | Schema<'TenantUsageResponseDto'>;

export type KeyWithSecret = Schema<'KeyWithSecretResponseDto'>;

type LeakReportDto = Schema<'ReportLeakResponseDto'>;
/** POST /admin/api-keys/report-leak: never the token; a true positive names the key. */
export type LeakReport =
  | { label: 'false_positive' }
  | (Required<Pick<LeakReportDto, 'keyId' | 'publicId' | 'revoked'>> & { label: Extract<LeakReportDto['label'], 'true_positive'> });

export type KeyPage = Schema<'KeyListResponseDto'>;

/** Who wrote an event: a key with its publicId and its name when it acted; `cli:<user>` or `system:<part>` otherwise. */
export type Actor = Schema<'ActorResponseDto'>;

export type KeyHistoryItem = Schema<'KeyHistoryItemResponseDto'>;
export type KeyHistoryPage = Schema<'KeyHistoryPageResponseDto'>;

/** What an event changed: `{field: {from, to}}`, the same in the history and the audit log. */
export type Changes = KeyHistoryItem['changes'];

export type AuditEntry = Schema<'AuditEntryResponseDto'>;
export type AuditPage = Schema<'AuditPageResponseDto'>;
export type AuditDigest = Schema<'AuditDigestResponseDto'>;
export type VerifyResult = Schema<'AuditVerifyResponseDto'>;

export type ConsoleSession = Schema<'ConsoleSessionResponseDto'>;

/** A live-tail SSE message (GET /console/api/audit/tail; not described by the OpenAPI document). */
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

export type FieldError = Schema<'FieldErrorDto'>;

/** The event types the audit log can be filtered by (GET /admin/audit `type`). */
export const EVENT_TYPES = every<NonNullable<NonNullable<operations['AuditController_search']['parameters']['query']>['type']>>()([
  'key.created',
  'key.rotated',
  'key.expired',
  'key.revoked',
  'key.updated',
  'policy.changed',
]);

export const EVENT_LABELS: Record<string, string> = {
  'key.created': 'Created',
  'key.rotated': 'Rotated',
  'key.expired': 'Expired',
  'key.revoked': 'Revoked',
  'key.updated': 'Updated',
  'policy.changed': 'Policy changed',
};

/** The key policy settings (null: not set at that level; docs/api.md, "Key policy"). */
export type PolicySettings = Schema<'PolicySettingsResponseDto'>;
export type PolicySetting = keyof PolicySettings;
export type PolicyView = Schema<'PolicyResponseDto'>;
export type PolicyViolations = Schema<'PolicyViolationsResponseDto'>;

/** What an endpoint can subscribe to, as the API's DELIVERABLE_EVENT_TYPES (docs/webhooks.md). */
export const WEBHOOK_EVENT_TYPES = every<Schema<'CreateWebhookRequestDto'>['eventTypes'][number]>()([
  'key.created',
  'key.rotated',
  'key.updated',
  'key.revoked',
  'key.expired',
  'key.leaked',
  'key.expiring',
]);

export type WebhookEndpoint = Schema<'WebhookResponseDto'>;
/** POST /admin/webhooks: the signing secret (`whsec_…`) is in this response only. */
export type WebhookWithSecret = Schema<'WebhookWithSecretResponseDto'>;

export type Delivery = Schema<'DeliveryResponseDto'>;
export type DeliveryStatus = Delivery['status'];
export type DeliveryPage = Schema<'DeliveryPageResponseDto'>;
