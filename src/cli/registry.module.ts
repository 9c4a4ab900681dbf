import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/index.js';
import { KEY_PEPPER } from '@keyledger/nestjs';
import { APP_CONFIG, type AppConfig, ConfigModule, loadKeyPepper } from '../config/index.js';
import { DatabaseModule } from '../database/index.js';
import { EventStoreModule } from '../event-store/index.js';
import { KeysModule } from '../keys/index.js';
import { WebhooksModule } from '../webhooks/index.js';

/** The server's pepper (KEY_PEPPER, or the one kept under DATA_DIR): keys the CLI issues verify on the server. */
@Global()
@Module({
  providers: [
    {
      provide: KEY_PEPPER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => loadKeyPepper(config.keyPepper, config.dataDir),
    },
  ],
  exports: [KEY_PEPPER],
})
class CliKeyPepperModule {}

/**
 * What the CLI's commands drive: the same command and query handlers, event store and
 * projections as the server, on the same database, without HTTP and without the server's
 * background work (bootstrap admin key, expiry sweeper, async projection timers). The domain
 * modules only: no controller, so no guard and no KeyVerifier (KeyRepository takes it as optional;
 * the servers hear of the CLI's changes by NOTIFY).
 */
@Module({})
export class RegistryModule {
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    const cliConfig: AppConfig = { ...config, bootstrapAdmin: false, expirySweepEnabled: false, asyncProjectionsEnabled: false };
    return {
      module: RegistryModule,
      imports: [
        ConfigModule.forRoot(cliConfig),
        // One command at a time: a handful of connections is plenty.
        DatabaseModule.forRoot(databaseUrl, 4),
        EventStoreModule,
        CliKeyPepperModule,
        KeysModule,
        AuditModule,
        WebhooksModule,
      ],
    };
  }
}
