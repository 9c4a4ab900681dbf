import { Controller, Get, HttpCode, Inject, Logger, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import { PG_POOL } from '../database/index.js';
import { EventNotifications, ProjectionsService } from '../event-store/index.js';
import { KeyVerifier } from '@keyledger/nestjs';
import { RetryBackoff } from '@keyledger/nestjs/internal';
import { HealthResponseDto, LivenessResponseDto, ProjectionHealthDto, ReadinessResponseDto } from './health.response.dto.js';

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
  @ApiOkResponse({ type: LivenessResponseDto })
  live(): LivenessResponseDto {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and the guard replica is loaded and listening (503 otherwise)' })
  @ApiOkResponse({ type: ReadinessResponseDto })
  @ApiServiceUnavailableResponse({ type: ReadinessResponseDto, description: 'Not ready: `reasons` says why' })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<ReadinessResponseDto> {
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
  @ApiOkResponse({
    type: HealthResponseDto,
    description: 'Healthy or degraded (a projection halted or lagging, LISTEN down, unreadable events stored)',
  })
  @ApiServiceUnavailableResponse({ type: HealthResponseDto, description: 'Down: the database is unreachable' })
  async health(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthResponseDto> {
    const started = performance.now();
    let database: HealthResponseDto['database'] = { ok: false };
    let projections: ProjectionHealthDto[] = [];
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
