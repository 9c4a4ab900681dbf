import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import type { AppConfig } from './config/config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { EventStoreModule } from './event-store/index.js';
import { ExamplesModule } from './examples/index.js';
import { HealthController } from './health/health.controller.js';
import { KeysModule } from './keys/index.js';

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
        KeysModule,
        ...(config.examplesEnabled ? [ExamplesModule] : []),
      ],
      controllers: [HealthController],
    };
  }
}
