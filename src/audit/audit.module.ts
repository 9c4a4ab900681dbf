import { Module } from '@nestjs/common';
import { EventStoreModule } from '../event-store/index.js';
import { AuditExporter } from './export/audit-exporter.js';
import { AuditLogProjection } from './projections/audit-log.projection.js';
import { AuditReader } from './queries/audit-reader.js';
import { ChainVerifier } from './queries/chain-verifier.js';

/** The audit log without HTTP: projection, queries, exports, chain verification (server and CLI). */
@Module({
  imports: [EventStoreModule],
  providers: [AuditLogProjection, AuditReader, ChainVerifier, AuditExporter],
  exports: [AuditReader, ChainVerifier, AuditExporter],
})
export class AuditModule {}
