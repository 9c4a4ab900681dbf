export { KeysModule } from './keys.module.js';
export { KeysHttpModule } from './http/keys-http.module.js';
export { KeyRepository, occurredAt, toKeyEvent } from './key-repository.js';
export { SYSTEM_ACTOR, systemActor, type Actor, type CommandContext } from './command-context.js';
export { readableTenant } from './tenant-access.js';
export { CreateKeyCommand, type CreatedKey } from './commands/create-key/create-key.command.js';
export { RotateKeyCommand, type RotatedKey } from './commands/rotate-key/rotate-key.command.js';
export { ExpireKeyCommand } from './commands/expire-key/expire-key.command.js';
export { RevokeKeyCommand } from './commands/revoke-key/revoke-key.command.js';
export { UpdateKeyCommand } from './commands/update-key/update-key.command.js';
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
export { readKeyEvent, type KeyEvent, type StoredKeyEvent, type UnreadableKeyEvent } from './domain/key-events.js';
export { ExpirySweeper } from './expiry/expiry-sweeper.js';
export { ActorResponseDto, CHANGES_SCHEMA } from './http/key.response.dto.js';
