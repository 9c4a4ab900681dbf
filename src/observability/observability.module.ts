import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store/index.js';
import { MetricsServer } from './metrics-server.js';

@Module({ imports: [EventStoreModule], providers: [MetricsServer], exports: [MetricsServer] })
export class ObservabilityModule {}
