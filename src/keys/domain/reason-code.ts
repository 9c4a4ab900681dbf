/**
 * Why a key was revoked or expired, in a form a report can group by (issue #18). Free text stays
 * alongside (`reason` on revoke). An event written before reason codes existed reads as `other`.
 */
export const REASON_CODES = ['compromised', 'leaked', 'superseded', 'unused', 'policy', 'offboarding', 'other'] as const;
export type ReasonCode = (typeof REASON_CODES)[number];

export function isReasonCode(value: unknown): value is ReasonCode {
  return typeof value === 'string' && (REASON_CODES as readonly string[]).includes(value);
}

/** The reason code an event payload carries, `other` for events written before codes existed. */
export function reasonCodeOf(payload: { readonly reasonCode?: unknown }): ReasonCode {
  return isReasonCode(payload.reasonCode) ? payload.reasonCode : 'other';
}
