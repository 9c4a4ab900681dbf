export { EventStoreModule } from './event-store.module.js';
export { EventStore } from './event-store.js';
export { EVENTS_CHANNEL, EventNotifications, type EventNotification } from '@keyledger/nestjs/internal';
export { isBefore, ProjectionsService, UnknownProjectionError } from './projections.service.js';
export { ProjectionRunner, CheckpointMismatchError, type AppliedBatch, type ProjectionStatus } from './projection-runner.js';
export { ConcurrencyError, EventIdConflictError } from './event-store.errors.js';
export type { Projection, ProjectionReplay } from './projection.js';
export { AsyncProjection, InlineProjection } from './projection.decorator.js';
export {
  START,
  type AppendResult,
  type Checkpoint,
  type EventMetadata,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
} from './event-store.types.js';
