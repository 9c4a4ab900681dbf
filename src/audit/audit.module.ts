import { Module, type OnModuleInit } from '@nestjs/common';
import { EventStore, EventStoreModule, ProjectionsService } from '../event-store/index.js';
import { AuditExporter } from './export/audit-exporter.js';
import { AuditController } from './http/audit.controller.js';
import { AuditLogProjection } from './projections/audit-log.projection.js';
import { AuditReader } from './queries/audit-reader.js';
import { ChainVerifier } from './queries/chain-verifier.js';

@Module({
  imports: [EventStoreModule],
  controllers: [AuditController],
  providers: [AuditReader, ChainVerifier, AuditExporter],
  exports: [AuditReader, ChainVerifier, AuditExporter],
})
export class AuditModule implements OnModuleInit {
  constructor(
    private readonly projections: ProjectionsService,
    private readonly store: EventStore,
  ) {}

  onModuleInit(): void {
    // Batches of 1,000 keep a rebuild fast while each transaction stays short.
    this.projections.registerAsync(new AuditLogProjection(this.store), 1000);
  }
}
