export { KeysModule } from './keys.module.js';
export { KeysHttpModule } from './http/keys-http.module.js';
export { KeyRepository, occurredAt, toKeyEvent } from './key-repository.js';
export { eventMetadata, SYSTEM_ACTOR, systemActor, type Actor, type CommandContext } from './command-context.js';
export { canAccessTenant, isCrossTenant, readableTenant } from './tenant-access.js';
export { CreateKeyCommand, type CreatedKey } from './commands/create-key/create-key.command.js';
export { RotateKeyCommand, type RotatedKey } from './commands/rotate-key/rotate-key.command.js';
export { ExpireKeyCommand } from './commands/expire-key/expire-key.command.js';
export { RevokeKeyCommand } from './commands/revoke-key/revoke-key.command.js';
export { ReportLeakCommand, type LeakSource, type LeakVerdict } from './commands/report-leak/report-leak.command.js';
export { IsSourceUrl } from './commands/report-leak/report-leak.request.dto.js';
export { UpdateKeyCommand } from './commands/update-key/update-key.command.js';
export { SetPolicyCommand } from './commands/set-policy/set-policy.command.js';
export { GetPolicyQuery } from './queries/get-policy/get-policy.query.js';
export { PolicyViolationsQuery, type PolicyViolations } from './queries/policy-violations/policy-violations.query.js';
export { POLICY_SETTINGS, type PolicySetting, type PolicySettings } from './policy/key-policy.js';
export type { PolicyView } from './policy/policy-view.js';
export { ListKeysQuery, type KeyPage } from './queries/list-keys/list-keys.query.js';
export { GetKeyQuery } from './queries/get-key/get-key.query.js';
export { KeyUsageQuery, type KeyUsage } from './queries/usage/key-usage.query.js';
export { TenantUsageQuery, type TenantUsage } from './queries/usage/tenant-usage.query.js';
export type { UsageDay } from './queries/usage/usage-days.js';
export { KeyHistoryQuery, type KeyHistoryItem, type KeyHistoryPage } from './queries/key-history/key-history.query.js';
export {
  actorKeyId,
  compareChainOrder,
  KeyTimeline,
  type ActorRef,
  type Changes,
} from './queries/key-history/key-timeline.js';
export type { KeyView } from './key-view.js';
export { isReasonCode, reasonCodeOf, REASON_CODES, type ReasonCode } from './domain/reason-code.js';
export { keyCards, keyName, type KeyCard } from './queries/key-cards/key-cards.js';
export { readKeyEvent, type KeyEvent, type StoredKeyEvent, type UnreadableKeyEvent } from './domain/key-events.js';
export { ExpirySweeper } from './expiry/expiry-sweeper.js';
export { KeyReport, type KeyReportFilter, type KeyReportLine } from './queries/key-report/key-report.js';
export { keyReportText, KEY_REPORT_FORMATS, type KeyReportFormat } from './queries/key-report/key-report-format.js';
export { ActorResponseDto, CHANGES_SCHEMA, REASON_CODE_SCHEMA } from './http/key.response.dto.js';
export { actorOf, commandContext } from './http/http-context.js';
