import { Controller, Get, HttpCode, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import { PG_POOL } from '../database/database.tokens.js';
import { EventNotifications, ProjectionsService, type ProjectionStatus } from '../event-store/index.js';
import { KeyVerifier } from '../auth/index.js';

interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  database: { ok: boolean; latencyMs?: number; error?: string };
  listen: { connected: boolean; reconnects: number };
  replica: ReturnType<KeyVerifier['status']>;
  projections: ProjectionStatus[];
  /** Stored key events this version cannot read (see docs/operations.md); any makes the status degraded. */
  unreadableEvents: number;
}

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    private readonly projections: ProjectionsService,
    private readonly notifications: EventNotifications,
    private readonly verifier: KeyVerifier,
  ) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving HTTP' })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and the guard replica is loaded and listening (503 otherwise)' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<{ status: 'ready' | 'not-ready'; reasons: string[] }> {
    const reasons: string[] = [];
    await this.pool.query('SELECT 1').catch((error: unknown) => reasons.push(`database: ${error instanceof Error ? error.message : String(error)}`));
    const replica = this.verifier.status();
    if (replica.lastSyncAt === null) reasons.push('guard replica not loaded');
    if (!replica.listening) reasons.push('guard replica not listening for changes');
    if (reasons.length > 0) void reply.status(503);
    return { status: reasons.length ? 'not-ready' : 'ready', reasons };
  }

  @Get()
  @HttpCode(200)
  @ApiOperation({ summary: 'Database, LISTEN connection and each projection with its position and lag' })
  @ApiOkResponse({ description: 'Healthy or degraded (a projection halted or lagging, LISTEN down, unreadable events stored); 503 when the database is unreachable' })
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthReport> {
    const started = performance.now();
    let database: HealthReport['database'];
    let projections: ProjectionStatus[] = [];
    let unreadableEvents = 0;
    try {
      await this.pool.query('SELECT 1');
      database = { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
      projections = await this.projections.status();
      const unreadable = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM unreadable_events');
      unreadableEvents = unreadable.rows[0].n;
    } catch (error) {
      database = { ok: false, error: error instanceof Error ? error.message : String(error) };
    }
    const listen = this.notifications.status();
    const replica = this.verifier.status();
    const halted = projections.some((p) => p.state === 'halted');
    const status = !database.ok ? 'down' : halted || unreadableEvents > 0 || !listen.connected || !replica.listening ? 'degraded' : 'ok';
    if (status === 'down') void reply.status(503);
    return { status, database, listen, replica, projections, unreadableEvents };
  }
}
