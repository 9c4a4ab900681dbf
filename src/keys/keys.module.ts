import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { EventStoreModule } from '../event-store/index.js';
import { BootstrapAdmin } from './bootstrap-admin.js';
import { CreateKeyHandler } from './commands/create-key/create-key.handler.js';
import { ExpireKeyHandler } from './commands/expire-key/expire-key.handler.js';
import { ReportLeakHandler } from './commands/report-leak/report-leak.handler.js';
import { SetPolicyHandler } from './commands/set-policy/set-policy.handler.js';
import { RevokeKeyHandler } from './commands/revoke-key/revoke-key.handler.js';
import { RotateKeyHandler } from './commands/rotate-key/rotate-key.handler.js';
import { UpdateKeyHandler } from './commands/update-key/update-key.handler.js';
import { ExpirySweeper } from './expiry/expiry-sweeper.js';
import { KeyReport } from './queries/key-report/key-report.js';
import { KeyRepository } from './key-repository.js';
import { ActiveKeysProjection } from './projections/active-keys.projection.js';
import { PolicyStore } from './policy/policy-store.js';
import { TenantPoliciesProjection } from './policy/tenant-policies.projection.js';
import { GetKeyHandler } from './queries/get-key/get-key.handler.js';
import { GetPolicyHandler } from './queries/get-policy/get-policy.handler.js';
import { PolicyViolationsHandler } from './queries/policy-violations/policy-violations.handler.js';
import { KeyHistoryHandler } from './queries/key-history/key-history.handler.js';
import { KeyAsOfHandler, KeysActiveAtHandler } from './queries/keys-as-of/keys-as-of.handler.js';
import { ListKeysHandler } from './queries/list-keys/list-keys.handler.js';
import { KeyUsageHandler } from './queries/usage/key-usage.handler.js';
import { TenantUsageHandler } from './queries/usage/tenant-usage.handler.js';
import { RegistryPepper } from './registry-pepper.js';

/**
 * The key domain without HTTP: commands, queries, repository, the active-key projection, the
 * bootstrap admin, the expiry sweeper, and the key policies (their projection, store and commands). The server adds the admin API (KeysHttpModule); the CLI
 * imports this alone, so its container holds no controller and no guard.
 */
@Module({
  imports: [CqrsModule, EventStoreModule],
  providers: [
    ActiveKeysProjection,
    KeyRepository,
    RegistryPepper,
    BootstrapAdmin,
    ExpirySweeper,
    CreateKeyHandler,
    RotateKeyHandler,
    ExpireKeyHandler,
    RevokeKeyHandler,
    ReportLeakHandler,
    UpdateKeyHandler,
    ListKeysHandler,
    GetKeyHandler,
    KeyHistoryHandler,
    KeysActiveAtHandler,
    KeyAsOfHandler,
    TenantPoliciesProjection,
    PolicyStore,
    SetPolicyHandler,
    GetPolicyHandler,
    PolicyViolationsHandler,
    KeyReport,
    KeyUsageHandler,
    TenantUsageHandler,
  ],
  exports: [KeyRepository, ExpirySweeper, KeyReport],
})
export class KeysModule {}
