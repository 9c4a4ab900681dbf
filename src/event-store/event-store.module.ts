import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { EventNotifications } from '@keyledger/nestjs/internal';
import { DATABASE_URL } from '../database/index.js';
import { EventStore } from './event-store.js';
import { ProjectionDiscovery } from './projection.decorator.js';
import { ProjectionsService } from './projections.service.js';

@Module({
  imports: [DiscoveryModule],
  providers: [
    EventStore,
    // One LISTEN connection per process, shared by the projections, health and the console's live tail.
    { provide: EventNotifications, inject: [DATABASE_URL], useFactory: (url: string) => new EventNotifications(url) },
    ProjectionsService,
    ProjectionDiscovery,
  ],
  exports: [EventStore, EventNotifications, ProjectionsService],
})
export class EventStoreModule {}
