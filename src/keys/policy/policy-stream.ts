/**
 * A tenant's policy is one stream, `policy-<tenantId>`; the platform-wide default is `policy-*`
 * (`*` is no tenant id: those are A-Z a-z 0-9 . _ -). Key streams are `key-<keyId>`
 * (`keyStreamId` in @keyledger/nestjs, which the guard shares); the guard knows nothing of
 * policies, so their naming lives here, and only these two functions know it.
 */
const POLICY_STREAM_PREFIX = 'policy-';
const PLATFORM = '*';

/** `null`: the platform-wide default. */
export const policyStreamId = (tenantId: string | null): string => `${POLICY_STREAM_PREFIX}${tenantId ?? PLATFORM}`;

/** The tenant of a policy stream (`null` for the platform default); undefined for any other stream. */
export function policyTenantOfStream(streamId: string): string | null | undefined {
  if (!streamId.startsWith(POLICY_STREAM_PREFIX)) return undefined;
  const tenant = streamId.slice(POLICY_STREAM_PREFIX.length);
  return tenant === PLATFORM ? null : tenant;
}
