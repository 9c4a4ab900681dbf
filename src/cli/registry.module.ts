import { Global, Module, type DynamicModule } from '@nestjs/common';
import { AuditModule } from '../audit/index.js';
import { KEY_PEPPER, KeyVerifier } from '@keyledger/nestjs';
import { APP_CONFIG, type AppConfig, ConfigModule, loadKeyPepper } from '../config/index.js';
import { DatabaseModule } from '../database/index.js';
import { EventStoreModule } from '../event-store/index.js';
import { KeysModule } from '../keys/index.js';

/**
 * KeysModule and AuditModule declare the admin controllers, whose @RequireApiKey() makes Nest build
 * an ApiKeyGuard even in a context that serves no HTTP. The CLI never runs a guard, so it gets a
 * verifier that refuses to be used instead of the real one, which would load every key into
 * memory and hold a LISTEN connection for nothing.
 */
const NO_VERIFIER = {
  verify(): never {
    throw new Error('the CLI does not verify API keys');
  },
  check(): never {
    throw new Error('the CLI does not verify API keys');
  },
  /** The CLI holds no replica: the servers hear of its changes by NOTIFY. */
  applyCommitted(): void {},
};

/** The server's pepper (KEY_PEPPER, or the one kept under DATA_DIR): keys the CLI issues verify on the server. */
@Global()
@Module({
  providers: [
    {
      provide: KEY_PEPPER,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => loadKeyPepper(config.keyPepper, config.dataDir),
    },
    { provide: KeyVerifier, useValue: NO_VERIFIER },
  ],
  exports: [KEY_PEPPER, KeyVerifier],
})
class CliKeyPepperModule {}

/**
 * What the CLI's commands drive: the same command and query handlers, event store and
 * projections as the server, on the same database, without HTTP and without the server's
 * background work (bootstrap admin key, expiry sweeper, async projection timers).
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
      ],
    };
  }
}
