import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { KeysModule } from '../keys.module.js';
import { ApiKeysController } from './api-keys.controller.js';
import { KeyReportsController } from './key-reports.controller.js';
import { PolicyController } from './policy.controller.js';
import { UsageController } from './usage.controller.js';

/** The admin API over the key domain: `/admin/api-keys`, the key policies, `/admin/reports/keys` and `/admin/usage`, behind the guard. */
@Module({
  imports: [CqrsModule, KeysModule],
  controllers: [ApiKeysController, PolicyController, KeyReportsController, UsageController],
})
export class KeysHttpModule {}
