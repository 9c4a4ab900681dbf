import { Inject, Injectable, Logger, ServiceUnavailableException } from '@nestjs/common';
import { Readable } from 'node:stream';
import { Client, escapeLiteral } from 'pg';
import { DomainError, ValidationError } from '../../common/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import { DATABASE_URL } from '../../database/index.js';
import { CONNECTION_OPTIONS, copyOutBinary } from '@keyledger/nestjs/internal';
import { EventStore } from '../../event-store/index.js';
import type { Actor } from '../../keys/index.js';
import { canonicalEventText } from '../audit-chain.js';
import { auditWhere, type AuditFilter } from '../queries/audit-filter.js';
import { EXPORT_COLUMNS, EXPORT_FIELDS, exportText, type ExportFormat } from './export-format.js';

export class AuditExportsBusyError extends DomainError {
  static create(running: number): AuditExportsBusyError {
    return new AuditExportsBusyError(
      'rate-limited',
      'AUDIT.EXPORTS_BUSY',
      `${running} audit exports are already running on this instance (AUDIT_EXPORT_CONCURRENCY); retry when one has finished`,
    );
  }
}

export class AuditEventsExportForbiddenError extends DomainError {
  static create(): AuditEventsExportForbiddenError {
    return new AuditEventsExportForbiddenError(
      'forbidden',
      'AUDIT.EVENTS_EXPORT_FORBIDDEN',
      'format=events-ndjson exports the whole hash chain, which spans every tenant: it needs a key with the admin scope',
    );
  }
}

export interface ExportOptions {
  /** At most this many entries (the newest; with events-ndjson, the first events of the chain). */
  limit?: number;
  /** Fail the stream when its reader takes nothing for this long (HTTP: AUDIT_EXPORT_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
}

/** Since when the export has been waiting for its reader to take the last chunk. */
interface Waiting {
  since: number | undefined;
}

/**
 * Streams audit entries as NDJSON or CSV with one binary `COPY (SELECT …) TO STDOUT`: each field
 * arrives with its length and is written into the line as it is read, without node-postgres's
 * per-row parse (several times less CPU per row than paged queries). One statement is one snapshot, so an
 * export is consistent however long it runs.
 *
 * Each export has a connection of its own, not one of the pool's: a slow client holds its COPY
 * back for as long as it reads, and must not hold up the API. AUDIT_EXPORT_CONCURRENCY caps how
 * many run at once.
 */
@Injectable()
export class AuditExporter {
  private readonly logger = new Logger(AuditExporter.name);
  private running = 0;

  constructor(
    @Inject(DATABASE_URL) private readonly url: string,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly store: EventStore,
  ) {}

  /**
   * Every matching entry, newest first (at most `limit`), or with `events-ndjson` every event of
   * the chain in chain order (admin only, no filter; `limit`: the first events). The filter, the cap and the database
   * connection are checked before this resolves, so a refusal or an outage is an error before any
   * byte is sent; the rows flow as the stream is read. COPY takes no bind parameters: the filter's
   * values enter the SQL as quoted literals. `idleTimeoutMs`: a reader that takes nothing for this
   * long fails the stream (an HTTP response is then aborted, never ended as if complete), so a
   * stalled client cannot keep its place.
   */
  async open(actor: Actor, filter: AuditFilter, format: ExportFormat, { limit, idleTimeoutMs }: ExportOptions = {}): Promise<Readable> {
    let read: (client: Client) => AsyncIterable<string>;
    if (format === 'events-ndjson') {
      assertWholeChain(actor, filter);
      read = (client) => this.events(client, limit);
    } else {
      const query = entriesQuery(actor, filter, limit);
      read = (client) => exportText(format, copyOutBinary(client, query, EXPORT_FIELDS));
    }
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit > 0)) {
      throw new RangeError(`limit must be a positive integer, got ${limit}`);
    }
    if (this.running >= this.config.auditExportConcurrency) throw AuditExportsBusyError.create(this.running);
    this.running++;
    let client: Client;
    try {
      client = await this.connect();
    } catch (error) {
      this.running--;
      throw error;
    }
    const waiting: Waiting = { since: undefined };
    const stream = Readable.from(this.copy(client, read, waiting));
    let watchdog: NodeJS.Timeout | undefined;
    if (idleTimeoutMs !== undefined) {
      watchdog = setInterval(
        () => {
          if (waiting.since !== undefined && Date.now() - waiting.since >= idleTimeoutMs) {
            stream.destroy(new Error(`audit export aborted: its reader took nothing for ${idleTimeoutMs} ms`));
          }
        },
        Math.max(50, Math.min(idleTimeoutMs / 4, 5000)),
      );
      watchdog.unref();
    }
    stream.once('close', () => {
      clearInterval(watchdog);
      this.running--;
      // A stream destroyed before it was first read never ran copy(), which ends the connection.
      void client.end().catch(() => undefined);
    });
    return stream;
  }

  /**
   * A connection of the export's own, in one read-only REPEATABLE READ transaction (one snapshot
   * for the events export's two statements; one server connection even behind PgBouncer's
   * transaction mode).
   */
  private async connect(): Promise<Client> {
    const client = new Client({ ...CONNECTION_OPTIONS, connectionString: this.url, application_name: 'keyledger-audit-export' });
    // A connection error also fails the COPY, which ends the stream with it; this keeps it from
    // being an unhandled 'error' event as well.
    client.on('error', (error) => this.logger.warn(`export connection: ${error.message}`));
    try {
      await client.connect();
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL TimeZone TO 'UTC'; SET LOCAL DateStyle TO ISO`);
      return client;
    } catch (error) {
      await client.end().catch(() => undefined);
      this.logger.warn(`export connection failed: ${error instanceof Error ? error.message : String(error)}`);
      throw new ServiceUnavailableException('The audit export could not reach the database; retry in a moment');
    }
  }

  /** Runs `read` on the export's connection once the stream is first read (not before: an export destroyed unread sends no query). */
  private async *copy(client: Client, read: (client: Client) => AsyncIterable<string>, waiting: Waiting): AsyncGenerator<string> {
    try {
      for await (const chunk of read(client)) {
        // Suspended here until the stream wants more: the reader has taken nothing since.
        waiting.since = Date.now();
        yield chunk;
        waiting.since = undefined;
      }
      await client.query('COMMIT');
    } finally {
      // Ending the connection also stops a COPY the reader abandoned half-way.
      await client.end();
    }
  }

  /**
   * events-ndjson: every event the chain holds, in chain order and behind the readers' gate (as
   * the audit projection and the verifiers read them), each line its canonical text: the exact
   * bytes hashed into the chain.
   */
  private async *events(client: Client, limit: number | undefined): AsyncGenerator<string> {
    const before = await this.store.currentXmin(client);
    for await (const events of this.store.replay(client, { order: 'global', before, batchSize: 1000, limit })) {
      let out = '';
      for (const e of events) out += `${canonicalEventText(e)}\n`;
      yield out;
    }
  }
}

/** The COPY query of audit entries, newest first. */
function entriesQuery(actor: Actor, filter: AuditFilter, limit: number | undefined): string {
  return `SELECT ${EXPORT_COLUMNS} FROM audit_log WHERE ${auditWhere(actor, filter, escapeLiteral)} ORDER BY seq DESC${limit === undefined ? '' : ` LIMIT ${limit}`}`;
}

/** events-ndjson is the whole chain: for callers who may read every tenant, and without filters. */
function assertWholeChain(actor: Actor, filter: AuditFilter): void {
  if (!(actor.scopes === null || actor.scopes.includes('admin'))) throw AuditEventsExportForbiddenError.create();
  const given = Object.entries(filter).filter(([, value]) => value !== undefined);
  if (given.length > 0) {
    throw ValidationError.of(
      given.map(([field]) => ({ field, message: 'is not allowed with format=events-ndjson, which exports the whole chain' })),
    );
  }
}
