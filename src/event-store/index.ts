export { EventStoreModule } from './event-store.module.js';
export { EventStore, EVENTS_CHANNEL, type EventNotification } from './event-store.js';
export { EventNotifications } from './event-notifications.js';
export { ProjectionsService, UnknownProjectionError } from './projections.service.js';
export { ProjectionRunner, CheckpointMismatchError, type ProjectionStatus } from './projection-runner.js';
export { ConcurrencyError, EventIdConflictError } from './event-store.errors.js';
export type { Projection, ProjectionReplay } from './projection.js';
export {
  START,
  type AppendResult,
  type Checkpoint,
  type EventMetadata,
  type ExpectedVersion,
  type NewEvent,
  type RecordedEvent,
} from './event-store.types.js';
