import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks.module.js';
import { WebhooksController } from './webhooks.controller.js';

/** `/admin/webhooks`, behind the guard. */
@Module({
  imports: [WebhooksModule],
  controllers: [WebhooksController],
})
export class WebhooksHttpModule {}
