import { Module } from '@nestjs/common';
import { EventNotifications } from './event-notifications.js';
import { EventStore } from './event-store.js';
import { ProjectionsService } from './projections.service.js';

@Module({
  providers: [EventStore, EventNotifications, ProjectionsService],
  exports: [EventStore, EventNotifications, ProjectionsService],
})
export class EventStoreModule {}
