import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { DomainError, ValidationError } from '../common/index.js';
import { ApiErrorResponses } from '../dto/index.js';
import { PG_POOL } from '../database/index.js';
import { keyName } from '../keys/index.js';
import { ADMIN_SCOPE, hasScopes } from '../token/index.js';
import { ConsoleSessionResponseDto, type ConsoleSession } from './console-session.response.dto.js';
import { LiveTail, MAX_TAIL_SUBSCRIBERS, type TailEvent, type TailSink } from './live-tail.service.js';

export class ConsoleAccessError extends DomainError {
  static notAllowed(): ConsoleAccessError {
    return new ConsoleAccessError(
      'forbidden',
      'CONSOLE.FORBIDDEN',
      'This key cannot use the console: it needs the admin, keys:manage, audit:read or webhooks:manage scope',
    );
  }

  static tooManyStreams(): ConsoleAccessError {
    return new ConsoleAccessError(
      'rate-limited',
      'CONSOLE.TOO_MANY_STREAMS',
      'Too many live tails are open on this instance; try again shortly',
    );
  }
}

const HEARTBEAT_MS = 15_000;
/** A viewer that stops reading is dropped (it reconnects with Last-Event-ID) rather than buffered without end. */
const MAX_BUFFERED_BYTES = 1_000_000;

/**
 * The two things the console needs that the REST API does not have: who the pasted key is (to
 * show the right pages), and a live feed of appended events. Both take the key from a header, like
 * every admin route; the feed is read with fetch() (EventSource cannot send headers), so the key
 * never goes in a URL or a cookie.
 */
@ApiTags('console')
@ApiErrorResponses(401, 403, 503)
@Controller('console/api')
export class ConsoleApiController {
  constructor(
    private readonly tail: LiveTail,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  @Get('session')
  @RequireApiKey()
  @ApiOperation({ summary: 'The signed-in key as the console sees it: tenant, scopes, and which pages it may use' })
  @ApiOkResponse({ type: ConsoleSessionResponseDto })
  async session(@CurrentApiKey() principal: ApiKeyPrincipal, @Res({ passthrough: true }) reply: FastifyReply): Promise<ConsoleSession> {
    const canManageKeys = hasScopes(principal.scopes, ['keys:manage']);
    const canReadAudit = hasScopes(principal.scopes, ['audit:read']);
    const canManageWebhooks = hasScopes(principal.scopes, ['webhooks:manage']);
    if (!canManageKeys && !canReadAudit && !canManageWebhooks) throw ConsoleAccessError.notAllowed();
    const name = await keyName(this.pool, principal.keyId);
    void reply.header('Cache-Control', 'no-store');
    return {
      keyId: principal.keyId,
      publicId: principal.publicId,
      name,
      tenantId: principal.tenantId,
      scopes: principal.scopes,
      expiresAt: principal.expiresAt,
      admin: principal.scopes.includes(ADMIN_SCOPE),
      canManageKeys,
      canReadAudit,
      canManageWebhooks,
    };
  }

  @Get('audit/tail')
  @RequireApiKey({ scopes: ['audit:read'] })
  @ApiOperation({
    summary: 'Server-Sent Events: each event appended to the store, as it commits (`key-event`, id = global position)',
    description:
      'Same tenant boundary as /admin/audit: an admin key sees every tenant, any other key only its own. ' +
      'Send Last-Event-ID to replay what a dropped connection missed (up to 1,000 events; a `gap` event says more were missed).',
  })
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'The id of the last event received' })
  @ApiOkResponse({ description: 'An event stream that stays open', content: { 'text/event-stream': { schema: { type: 'string' } } } })
  @ApiErrorResponses(400, { status: 429, description: 'Too many live tails are open on this instance' })
  async liveTail(
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (lastEventId !== undefined && !/^\d{1,15}$/.test(lastEventId)) {
      throw ValidationError.field('Last-Event-ID', 'must be the id of an event this stream sent');
    }
    if (this.tail.size >= MAX_TAIL_SUBSCRIBERS) throw ConsoleAccessError.tooManyStreams();
    const viewer = { crossTenant: principal.scopes.includes(ADMIN_SCOPE), tenantId: principal.tenantId };

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
      'X-Content-Type-Options': 'nosniff',
      Connection: 'keep-alive',
    });
    const write = (chunk: string): void => {
      if (res.writableEnded || res.destroyed) return;
      if (!res.write(chunk) && res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
    };
    const sink: TailSink = {
      event: (event: TailEvent) => write(`id: ${event.position}\nevent: key-event\ndata: ${JSON.stringify(event)}\n\n`),
      gap: () => write('event: gap\ndata: {}\n\n'),
      close: () => {
        write('event: bye\ndata: {}\n\n');
        res.end();
      },
    };
    let closed = false;
    let unsubscribe = (): void => undefined;
    const heartbeat = setInterval(() => write(': keep-alive\n\n'), HEARTBEAT_MS);
    res.on('close', () => {
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
    });
    write('retry: 2000\n\n');
    try {
      unsubscribe = await this.tail.subscribe(viewer, sink, lastEventId === undefined ? undefined : Number(lastEventId));
    } catch {
      write('event: error\ndata: {"message":"the live tail could not start; retrying"}\n\n');
      res.end();
      return;
    }
    if (closed) unsubscribe();
    else write('event: ready\ndata: {}\n\n');
  }
}
