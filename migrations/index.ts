import { EventStore1764000000000 } from './1764000000000-event-store.js';
import { ApiKeys1764000000001 } from './1764000000001-api-keys.js';
import { AuditLog1764000000002 } from './1764000000002-audit-log.js';
import { AdvanceXid1764000000003 } from './1764000000003-advance-xid.js';
import { AuditLogAppendOnly1764000000004 } from './1764000000004-audit-log-append-only.js';

/** Every migration, in order. A new migration is added here as well as in its file. */
export const MIGRATIONS = [EventStore1764000000000, ApiKeys1764000000001, AuditLog1764000000002, AdvanceXid1764000000003, AuditLogAppendOnly1764000000004];
