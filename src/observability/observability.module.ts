import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store/index.js';
import { MetricsController } from './metrics.controller.js';

@Module({ imports: [EventStoreModule], controllers: [MetricsController] })
export class ObservabilityModule {}
