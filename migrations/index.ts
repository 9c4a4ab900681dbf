import { EventStore1764000000000 } from './1764000000000-event-store.js';
import { ApiKeys1764000000001 } from './1764000000001-api-keys.js';
import { AuditLog1764000000002 } from './1764000000002-audit-log.js';
import { AdvanceXid1764000000003 } from './1764000000003-advance-xid.js';
import { UnreadableEvents1764000000007 } from './1764000000007-unreadable-events.js';
import { VerifyFailures1764000000008 } from './1764000000008-verify-failures.js';
import { AccessAudit1764000000010 } from './1764000000010-access-audit.js';
import { AuditLogAppendOnly1764000000011 } from './1764000000011-audit-log-append-only.js';
import { PepperFingerprint1764000000012 } from './1764000000012-pepper-fingerprint.js';
import { AuditActors1764000000014 } from './1764000000014-audit-actors.js';
import { KeyUsage1764000000015 } from './1764000000015-key-usage.js';
import { TenantPolicies1764000000016 } from './1764000000016-tenant-policies.js';
import { Webhooks1764000000017 } from './1764000000017-webhooks.js';
import { ReasonCodes1764000000019 } from './1764000000019-reason-codes.js';
import { UsageFillfactor1764000000021 } from './1764000000021-usage-fillfactor.js';
import { WebhookDeliverySpeed1764000000024 } from './1764000000024-webhook-delivery-speed.js';
import { WebhookLeaseAhead1764000000025 } from './1764000000025-webhook-lease-ahead.js';
import { ExpiryNoticePruning1764000000026 } from './1764000000026-expiry-notice-pruning.js';

/** Every migration, in order. A new migration is added here as well as in its file. */
export const MIGRATIONS = [
  EventStore1764000000000,
  ApiKeys1764000000001,
  AuditLog1764000000002,
  AdvanceXid1764000000003,
  UnreadableEvents1764000000007,
  VerifyFailures1764000000008,
  AccessAudit1764000000010,
  AuditLogAppendOnly1764000000011,
  PepperFingerprint1764000000012,
  AuditActors1764000000014,
  KeyUsage1764000000015,
  TenantPolicies1764000000016,
  Webhooks1764000000017,
  ReasonCodes1764000000019,
  UsageFillfactor1764000000021,
  WebhookDeliverySpeed1764000000024,
  WebhookLeaseAhead1764000000025,
  ExpiryNoticePruning1764000000026,
];
