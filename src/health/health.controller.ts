import { Controller, Get, HttpCode, Inject, Logger, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import { PG_POOL } from '../database/database.tokens.js';
import { EventNotifications, ProjectionsService, type ProjectionStatus } from '../event-store/index.js';
import { KeyVerifier, RetryBackoff } from '@keyledger/nestjs';

/** A projection as /health shows it: no error text (it may quote the database), which goes to the logs. */
type PublicProjectionStatus = Omit<ProjectionStatus, 'error'>;

interface HealthReport {
  status: 'ok' | 'degraded' | 'down';
  database: { ok: boolean; latencyMs?: number };
  listen: { connected: boolean; reconnects: number };
  replica: ReturnType<KeyVerifier['status']>;
  projections: PublicProjectionStatus[];
  /** Stored key events this version cannot read (see docs/operations.md); any makes the status degraded. */
  unreadableEvents: number;
}

/**
 * Public, unauthenticated: what it says must not help an attacker. It reports whether the database
 * answers, never why not (a driver's error names the host and port); the reason is logged, once
 * per outage rather than once per probe.
 */
@ApiTags('health')
@Controller('health')
export class HealthController {
  private readonly probe = new RetryBackoff(new Logger('Health'), 'database health probe');

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
    if (!(await this.databaseAnswers())) reasons.push('database unreachable');
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
    let database: HealthReport['database'] = { ok: false };
    let projections: PublicProjectionStatus[] = [];
    let unreadableEvents = 0;
    if (await this.databaseAnswers()) {
      database = { ok: true, latencyMs: Math.round((performance.now() - started) * 100) / 100 };
      try {
        projections = (await this.projections.status()).map(({ error: _error, ...shown }) => shown);
        const unreadable = await this.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM unreadable_events');
        unreadableEvents = unreadable.rows[0].n;
      } catch (error) {
        this.probe.failed(error);
        database = { ok: false };
        projections = [];
      }
    }
    const listen = this.notifications.status();
    const replica = this.verifier.status();
    const stuck = projections.some((p) => p.state === 'halted' || p.state === 'retrying');
    const status = !database.ok ? 'down' : stuck || unreadableEvents > 0 || !listen.connected || !replica.listening ? 'degraded' : 'ok';
    if (status === 'down') void reply.status(503);
    return { status, database, listen, replica, projections, unreadableEvents };
  }

  private async databaseAnswers(): Promise<boolean> {
    try {
      await this.pool.query('SELECT 1');
      this.probe.succeeded();
      return true;
    } catch (error) {
      this.probe.failed(error);
      return false;
    }
  }
}
