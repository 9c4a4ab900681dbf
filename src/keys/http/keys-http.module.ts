import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { KeysModule } from '../keys.module.js';
import { ApiKeysController } from './api-keys.controller.js';
import { UsageController } from './usage.controller.js';

/** The admin API over the key domain: `/admin/api-keys` and `/admin/usage`, behind the guard. */
@Module({
  imports: [CqrsModule, KeysModule],
  controllers: [ApiKeysController, UsageController],
})
export class KeysHttpModule {}
