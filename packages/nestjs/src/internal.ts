// `@keyledger/nestjs/internal`: the PostgreSQL plumbing the guard runs on, which the keyledger
// registry shares with it (one copy of each). Not for the services that use the guard: it changes
// with the registry, without a major version. Their API is the package's root entry point.
export { EVENTS_CHANNEL, EventNotifications, encodeNotification, type EventNotification } from './event-notifications.js';
export { keyIdOfStream, keyStreamId } from './key-stream.js';
export { CONNECTION_OPTIONS, CONNECT_TIMEOUT_MS, createPool } from './create-pool.js';
export { READ_SNAPSHOT, withTransaction, type TransactionOptions } from './with-transaction.js';
export { DATABASE_BACKOFF, RetryBackoff, type BackoffOptions } from './retry-backoff.js';
export { isConnectionError } from './connection-errors.js';
export { BinaryRows, copyBinaryRows, copyOutBinary } from './copy-out-binary.js';
export { API_KEYS_COLUMNS, REPLICA_COLUMNS, replicaRowOf, type KeyState } from './api-keys-columns.js';
