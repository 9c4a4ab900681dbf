import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { withTransaction } from '@keyledger/nestjs/internal';
import { ValidationError, VersionMismatchError } from '../common/index.js';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { PG_POOL } from '../database/index.js';
import { EventStore } from '../event-store/index.js';
import { canAccessTenant, eventMetadata, isCrossTenant, readableTenant, type Actor, type CommandContext } from '../keys/index.js';
import { WebhookDispatcher } from './delivery/webhook-dispatcher.js';
import { checkUrlShape, hostAddress, resolveChecked, UnsafeUrlError } from './delivery/ssrf.js';
import { DELIVERABLE_EVENT_TYPES } from './domain/webhook-event-types.js';
import {
  WEBHOOK_EVENT_SCHEMA_VERSION,
  webhookStreamId,
  type WebhookChanges,
  type WebhookEventPayload,
  type WebhookEventType,
} from './domain/webhook-events.js';
import { DeliveryNotFoundError, PlatformWebhookForbiddenError, WebhookNotFoundError, WebhookUrlRefusedError } from './webhooks.errors.js';
import { newSigningSecret, WebhookSecrets } from './webhook-secrets.js';

export interface WebhookEndpointView {
  id: string;
  /** null: platform-wide (every tenant's keys). */
  tenantId: string | null;
  url: string;
  eventTypes: string[];
  enabled: boolean;
  /** Why keyledger or an admin disabled it. */
  disabledReason: string | null;
  createdAt: string;
  updatedAt: string;
  version: number;
}

export interface DeliveryView {
  id: string;
  messageId: string;
  eventType: string;
  keyId: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  createdAt: string;
  lastAttemptAt: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  responseStatus: number | null;
  /** The first 1 KB of the last response. */
  responseBody: string | null;
  error: string | null;
  redeliveryOf: string | null;
}

interface EndpointRow {
  id: string;
  tenant_id: string | null;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
  version: number;
}

interface DeliveryRow {
  id: string;
  seq: string;
  message_id: string;
  event_type: string;
  order_key: string;
  status: DeliveryView['status'];
  attempts: number;
  created_at: Date;
  last_attempt_at: Date | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
  response_status: number | null;
  response_body: string | null;
  last_error: string | null;
  redelivery_of: string | null;
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

function toView(r: EndpointRow): WebhookEndpointView {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    url: r.url,
    eventTypes: r.event_types,
    enabled: r.enabled,
    disabledReason: r.disabled_reason,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    version: r.version,
  };
}

function toDeliveryView(r: DeliveryRow): DeliveryView {
  return {
    id: r.id,
    messageId: r.message_id,
    eventType: r.event_type,
    keyId: r.order_key,
    status: r.status,
    attempts: r.attempts,
    createdAt: r.created_at.toISOString(),
    lastAttemptAt: iso(r.last_attempt_at),
    nextAttemptAt: r.status === 'pending' ? r.next_attempt_at.toISOString() : null,
    deliveredAt: iso(r.delivered_at),
    responseStatus: r.response_status,
    responseBody: r.response_body,
    error: r.last_error,
    redeliveryOf: r.redelivery_of,
  };
}

const ENDPOINT_COLUMNS = 'id, tenant_id, url, event_types, enabled, disabled_reason, created_at, updated_at, version';
const DELIVERY_COLUMNS = `id, seq, message_id, event_type, order_key, status, attempts, created_at, last_attempt_at, next_attempt_at,
  delivered_at, response_status, response_body, last_error, redelivery_of`;
/** The HTTP DTO checks these too; the CLI calls the service directly. */
function eventTypes(types: readonly string[]): string[] {
  const unknown = types.filter((t) => !(DELIVERABLE_EVENT_TYPES as readonly string[]).includes(t));
  if (types.length === 0 || unknown.length > 0) {
    throw ValidationError.field('eventTypes', `must be one or more of ${DELIVERABLE_EVENT_TYPES.join(', ')}`);
  }
  return [...new Set(types)];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Webhook endpoints for the admin API and the CLI. Every change is an event on the endpoint's
 * stream (`webhook-<id>`), so it is in the audit chain; `webhook_endpoints` is their inline
 * projection. Tenancy as for keys: a tenant's key manages its tenant's endpoints (another's is a
 * 404); platform-wide endpoints (no tenant) only `admin` and the operator.
 */
@Injectable()
export class WebhookEndpoints {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: EventStore,
    private readonly secrets: WebhookSecrets,
    private readonly dispatcher: WebhookDispatcher,
  ) {}

  /** Creates an endpoint; the signing secret is in this result only. */
  async create(
    input: { url: string; eventTypes: string[]; tenantId?: string },
    ctx: CommandContext,
  ): Promise<WebhookEndpointView & { secret: string }> {
    const tenantId = input.tenantId ?? (isCrossTenant(ctx.actor) ? null : ctx.actor.tenantId);
    if (tenantId === null ? !isCrossTenant(ctx.actor) : !canAccessTenant(ctx.actor, tenantId)) throw PlatformWebhookForbiddenError.create();
    await this.checkUrl(input.url);
    const id = randomUUID();
    const secret = newSigningSecret();
    const changes: WebhookChanges = {
      url: { from: null, to: input.url },
      eventTypes: { from: null, to: eventTypes(input.eventTypes) },
      enabled: { from: null, to: true },
    };
    await withTransaction(this.pool, async (client) => {
      await client.query('INSERT INTO webhook_secrets (endpoint_id, ciphertext) VALUES ($1, $2)', [id, this.secrets.seal(id, secret)]);
      await this.append(id, 'no-stream', 'webhook.created', { webhookId: id, tenantId, changes }, ctx, client);
    });
    return { ...(await this.get(id, ctx.actor)), secret };
  }

  /** `expectedVersion` (from If-Match): the version the caller read; another is a 412 and changes nothing. */
  async update(
    id: string,
    input: { url?: string; eventTypes?: string[]; enabled?: boolean },
    ctx: CommandContext,
    expectedVersion?: number,
  ): Promise<WebhookEndpointView> {
    const current = await this.load(id, ctx.actor);
    VersionMismatchError.assert('WEBHOOK.VERSION_MISMATCH', 'The endpoint', expectedVersion, current.version);
    if (input.url !== undefined) await this.checkUrl(input.url);
    const changes: WebhookChanges = {};
    if (input.url !== undefined && input.url !== current.url) changes.url = { from: current.url, to: input.url };
    const types = input.eventTypes && eventTypes(input.eventTypes);
    if (types !== undefined && types.join('\n') !== current.event_types.join('\n')) {
      changes.eventTypes = { from: current.event_types, to: types };
    }
    if (input.enabled !== undefined && input.enabled !== current.enabled) changes.enabled = { from: current.enabled, to: input.enabled };
    if (Object.keys(changes).length === 0) return toView(current);
    await this.append(id, current.version, 'webhook.updated', { webhookId: id, tenantId: current.tenant_id, changes }, ctx);
    if (changes.enabled?.to === true) {
      await this.pool.query('DELETE FROM webhook_endpoint_health WHERE endpoint_id = $1', [id]);
      this.dispatcher.wake();
    }
    return this.get(id, ctx.actor);
  }

  async delete(id: string, ctx: CommandContext): Promise<void> {
    const current = await this.load(id, ctx.actor);
    await withTransaction(this.pool, async (client) => {
      await client.query('DELETE FROM webhook_secrets WHERE endpoint_id = $1', [id]);
      await this.append(id, current.version, 'webhook.deleted', { webhookId: id, tenantId: current.tenant_id, changes: {} }, ctx, client);
    });
  }

  async get(id: string, actor: Actor): Promise<WebhookEndpointView> {
    return toView(await this.load(id, actor));
  }

  /** Every endpoint the actor may see, oldest first; `tenantId` narrows it (platform-wide ones only for admin, with no tenantId). */
  async list(actor: Actor, tenantId: string | undefined): Promise<WebhookEndpointView[]> {
    const tenant = readableTenant(actor, tenantId);
    const { rows } = await this.pool.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE deleted_at IS NULL AND ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at, id`,
      [tenant ?? null],
    );
    return rows.map(toView);
  }

  /** The endpoint's deliveries, newest first, `limit` after `before` (a delivery's `seq`, from the previous page). */
  async deliveries(
    id: string,
    actor: Actor,
    limit: number,
    before: number | undefined,
  ): Promise<{ items: DeliveryView[]; nextBefore: number | null }> {
    await this.load(id, actor);
    const { rows } = await this.pool.query<DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3`,
      [id, before ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    return { items: page.map(toDeliveryView), nextBefore: rows.length > limit ? Number(page[page.length - 1].seq) : null };
  }

  /** Queues the delivery's message again, as a new delivery with the same message id (receivers deduplicate on it). */
  async redeliver(id: string, deliveryId: string, actor: Actor): Promise<DeliveryView> {
    await this.load(id, actor);
    if (!UUID.test(deliveryId)) throw DeliveryNotFoundError.withId(deliveryId);
    const { rows } = await this.pool.query<DeliveryRow>(
      `INSERT INTO webhook_deliveries (id, endpoint_id, message_id, event_type, order_key, payload, redelivery_of)
       SELECT $3, endpoint_id, message_id, event_type, order_key, payload, id FROM webhook_deliveries WHERE id = $2 AND endpoint_id = $1
       RETURNING ${DELIVERY_COLUMNS}`,
      [id, deliveryId, randomUUID()],
    );
    if (rows.length === 0) throw DeliveryNotFoundError.withId(deliveryId);
    this.dispatcher.wake();
    return toDeliveryView(rows[0]);
  }

  /** The endpoint if the actor may see it; another tenant's, a platform-wide one for a tenant key, or a deleted one: 404. */
  private async load(id: string, actor: Actor): Promise<EndpointRow> {
    if (!UUID.test(id)) throw WebhookNotFoundError.withId(id);
    const { rows } = await this.pool.query<EndpointRow>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    const row = rows[0];
    if (row === undefined || (row.tenant_id === null ? !isCrossTenant(actor) : !canAccessTenant(actor, row.tenant_id))) {
      throw WebhookNotFoundError.withId(id);
    }
    return row;
  }

  /** The SSRF rules at create and update time (they are checked again at every send: DNS changes). */
  private async checkUrl(url: string): Promise<void> {
    const allow = this.config.webhooks.allowPrivateNetworks;
    try {
      await resolveChecked(hostAddress(checkUrlShape(url, allow)), allow);
    } catch (error) {
      if (error instanceof UnsafeUrlError) throw WebhookUrlRefusedError.because(error.message);
      throw WebhookUrlRefusedError.because(`its host does not resolve (${(error as { code?: string }).code ?? 'DNS error'})`);
    }
  }

  private append(
    id: string,
    expected: 'no-stream' | number,
    type: WebhookEventType,
    payload: Omit<WebhookEventPayload, 'occurredAt'>,
    ctx: CommandContext,
    client?: PoolClient,
  ): Promise<unknown> {
    return this.store.append(
      webhookStreamId(id),
      expected,
      [{ type, schemaVersion: WEBHOOK_EVENT_SCHEMA_VERSION, payload: { ...payload, occurredAt: new Date().toISOString() } }],
      eventMetadata(ctx),
      client === undefined ? {} : { client },
    );
  }
}
