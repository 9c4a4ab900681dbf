import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { ApiKeyAuthModule } from '@keyledger/nestjs';
import { APP_CONFIG, type AppConfig, ConfigModule, loadKeyPepper } from './config/index.js';
import { AccessLog, AccessModule } from './access/index.js';
import { AuditHttpModule } from './audit/index.js';
import { ConsoleModule } from './console/index.js';
import { DATABASE_URL, DatabaseModule } from './database/index.js';
import { EventStoreModule } from './event-store/index.js';
import { ExamplesModule } from './examples/index.js';
import { HealthController } from './health/index.js';
import { KeysHttpModule } from './keys/index.js';
import { ObservabilityModule, recordLookup, recordVerification } from './observability/index.js';
import { SecretScanningModule } from './secret-scanning/index.js';
import { VerificationModule } from './verification/index.js';
import { WebhooksHttpModule } from './webhooks/index.js';

@Module({})
export class AppModule {
  /** `databaseUrl` is DATABASE_URL or the embedded server's, resolved before Nest starts. */
  static forRoot(config: AppConfig, databaseUrl: string): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(databaseUrl),
        EventStoreModule,
        ApiKeyAuthModule.forRootAsync({
          imports: [AccessModule],
          inject: [APP_CONFIG, DATABASE_URL, AccessLog],
          useFactory: async (appConfig: AppConfig, url: string, accessLog: AccessLog) => ({
            databaseUrl: url,
            pepper: await loadKeyPepper(appConfig.keyPepper, appConfig.dataDir),
            resyncIntervalMs: appConfig.replicaResyncMs,
            maxStalenessMs: appConfig.guardMaxStalenessMs,
            onStale: appConfig.guardOnStale,
            digester: appConfig.guardDigester,
            recordUsage: appConfig.usageFlushMs !== null,
            usageFlushMs: appConfig.usageFlushMs ?? undefined,
            onRefused: (refusal, request) => accessLog.guardRefused(refusal, request as object),
            onVerification: recordVerification,
            onLookup: recordLookup,
          }),
        }),
        AccessModule,
        KeysHttpModule,
        VerificationModule,
        SecretScanningModule,
        AuditHttpModule,
        WebhooksHttpModule,
        ObservabilityModule,
        ConsoleModule,
        ...(config.examplesEnabled ? [ExamplesModule] : []),
      ],
      controllers: [HealthController],
    };
  }
}
