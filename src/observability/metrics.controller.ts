import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { collectDefaultMetrics } from 'prom-client';
import { KeyVerifier } from '@keyledger/nestjs';
import { EventNotifications, ProjectionsService } from '../event-store/index.js';
import { gauge, metricsRegistry } from './metrics.js';

collectDefaultMetrics({ prefix: 'keyledger_' });

const projectionLag = gauge({ name: 'keyledger_projection_lag_events', help: 'Events an async projection has not applied yet', labelNames: ['projection'] as const });
const projectionHalted = gauge({ name: 'keyledger_projection_halted', help: '1 when a projection halted on an event it cannot apply', labelNames: ['projection'] as const });
const databaseUp = gauge({ name: 'keyledger_database_up', help: '1 when the last scrape could read the projections from the database' });
const replicaKeys = gauge({ name: 'keyledger_replica_keys', help: 'Keys held in the guard replica' });
const replicaStale = gauge({ name: 'keyledger_replica_stale_seconds', help: 'How long the guard replica has been cut off from change notifications (0 while fresh)' });
const replicaFailingClosed = gauge({ name: 'keyledger_replica_failing_closed', help: '1 while the guard refuses every key with 503 (stale past its bound)' });
const listenReconnects = gauge({ name: 'keyledger_listen_reconnects', help: 'LISTEN reconnects since start', labelNames: ['connection'] as const });
const listenConnected = gauge({ name: 'keyledger_listen_connected', help: '1 while the LISTEN connection is up', labelNames: ['connection'] as const });

/** Prometheus text format. Point-in-time values (lag, replica size) are read at scrape time. */
@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly projections: ProjectionsService,
    private readonly verifier: KeyVerifier,
    private readonly notifications: EventNotifications,
  ) {}

  @Get()
  @Header('Content-Type', metricsRegistry.contentType)
  @ApiOperation({ summary: 'Prometheus metrics: verifications, latency, commands, events, projection lag, replica, LISTEN' })
  @ApiOkResponse({ description: 'Prometheus text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } })
  async metrics(): Promise<string> {
    // Scraped during an outage too: the process's own metrics still answer, with the database down.
    const statuses = await this.projections.status().catch(() => undefined);
    databaseUp.set(statuses ? 1 : 0);
    for (const p of statuses ?? []) {
      projectionLag.labels(p.name).set(p.lag);
      projectionHalted.labels(p.name).set(p.state === 'halted' ? 1 : 0);
    }
    const replica = this.verifier.status();
    replicaKeys.set(replica.keys);
    replicaStale.set(replica.staleForMs / 1000);
    replicaFailingClosed.set(replica.failingClosed ? 1 : 0);
    listenReconnects.labels('replica').set(replica.reconnects);
    listenConnected.labels('replica').set(replica.listening ? 1 : 0);
    const projections = this.notifications.status();
    listenReconnects.labels('projections').set(projections.reconnects);
    listenConnected.labels('projections').set(projections.connected ? 1 : 0);
    return metricsRegistry.metrics();
  }
}
