import { Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { KeysModule } from '../keys.module.js';
import { ApiKeysController } from './api-keys.controller.js';
import { KeyReportsController } from './key-reports.controller.js';

/** The admin API over the key domain: `/admin/api-keys`, behind the guard. */
@Module({
  imports: [CqrsModule, KeysModule],
  controllers: [ApiKeysController, KeyReportsController],
})
export class KeysHttpModule {}
