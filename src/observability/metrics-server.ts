import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { collectDefaultMetrics } from 'prom-client';
import { KeyVerifier } from '@keyledger/nestjs';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { gauge, httpErrorBody, metricsRegistry, TRANSPORT_HEADERS } from '../common/index.js';
import { EventNotifications, ProjectionsService } from '../event-store/index.js';

collectDefaultMetrics({ prefix: 'keyledger_' });

const projectionLag = gauge({
  name: 'keyledger_projection_lag_events',
  help: 'Events an async projection has not applied yet',
  labelNames: ['projection'] as const,
});
const projectionHalted = gauge({
  name: 'keyledger_projection_halted',
  help: '1 when a projection halted on an event it cannot apply',
  labelNames: ['projection'] as const,
});
const databaseUp = gauge({ name: 'keyledger_database_up', help: '1 when the last scrape could read the projections from the database' });
const replicaKeys = gauge({ name: 'keyledger_replica_keys', help: 'Keys held in the guard replica' });
const replicaStale = gauge({
  name: 'keyledger_replica_stale_seconds',
  help: 'How long the guard replica has been cut off from change notifications (0 while fresh)',
});
const replicaFailingClosed = gauge({
  name: 'keyledger_replica_failing_closed',
  help: '1 while the guard refuses every key with 503 (stale past its bound)',
});
const listenReconnects = gauge({
  name: 'keyledger_listen_reconnects',
  help: 'LISTEN reconnects since start',
  labelNames: ['connection'] as const,
});
const listenConnected = gauge({
  name: 'keyledger_listen_connected',
  help: '1 while the LISTEN connection is up',
  labelNames: ['connection'] as const,
});

/**
 * `GET /metrics` (Prometheus text format) on a listener of its own (METRICS_HOST:METRICS_PORT,
 * loopback by default), never on the API's: a scrape needs no key, so it must not be reachable
 * where the API is. Plain node:http with no guard and no database in the way, so it keeps
 * answering while the database is down or the guard fails closed: that is when it is needed.
 */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private server: Server | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly projections: ProjectionsService,
    private readonly verifier: KeyVerifier,
    private readonly notifications: EventNotifications,
  ) {}

  /** Before the API listens (app.listen runs init first): a busy port stops start-up. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.metricsPort === null) return;
    const server = createServer((request, response) => void this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.config.metricsPort ?? 0, this.config.metricsHost, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections(); // Prometheus keeps its connection open between scrapes
    await closed;
  }

  /** `http://host:port/metrics` of the bound listener (METRICS_PORT=0 picks a free port), or null when off. */
  url(): string | null {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) return null;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host === '0.0.0.0' || host === '[::]' ? 'localhost' : host}:${address.port}/metrics`;
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    const status = path !== '/metrics' ? 404 : request.method === 'GET' || request.method === 'HEAD' ? 200 : 405;
    let body: string;
    try {
      body = status === 200 ? await this.render() : JSON.stringify(httpErrorBody(status, 'This listener serves GET /metrics only'));
    } catch {
      response
        .writeHead(500, { ...TRANSPORT_HEADERS, 'Content-Type': 'application/json; charset=utf-8' })
        .end(JSON.stringify(httpErrorBody(500)));
      return;
    }
    response.writeHead(status, {
      ...TRANSPORT_HEADERS,
      'Content-Type': status === 200 ? metricsRegistry.contentType : 'application/json; charset=utf-8',
      ...(status === 405 ? { Allow: 'GET, HEAD' } : {}),
    });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  /** Point-in-time values (lag, replica size) are read at scrape time. */
  private async render(): Promise<string> {
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
