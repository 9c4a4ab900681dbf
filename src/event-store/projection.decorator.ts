import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { Projection } from './projection.js';
import { ProjectionsService } from './projections.service.js';

type ProjectionMode = { mode: 'inline' } | { mode: 'async'; batchSize?: number };

const PROJECTION = DiscoveryService.createDecorator<ProjectionMode>();

/** A provider that is an inline projection: it runs inside every append's transaction. */
export const InlineProjection = (): ClassDecorator => PROJECTION({ mode: 'inline' });

/** A provider that is an async projection: a runner follows the events after they commit, `batchSize` at a time. */
export const AsyncProjection = (batchSize?: number): ClassDecorator => PROJECTION({ mode: 'async', batchSize });

/**
 * Finds every provider marked @InlineProjection or @AsyncProjection, in any module, and hands it to
 * ProjectionsService before the first append: the list of projections is the providers so marked.
 */
@Injectable()
export class ProjectionDiscovery implements OnModuleInit {
  private readonly logger = new Logger('Projections');

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly projections: ProjectionsService,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders({ metadataKey: PROJECTION.KEY })) {
      const mode = this.discovery.getMetadataByDecorator(PROJECTION, wrapper);
      const projection = wrapper.instance as Projection | undefined;
      if (mode === undefined || projection === undefined) continue;
      if (mode.mode === 'inline') this.projections.registerInline(projection);
      else this.projections.registerAsync(projection, mode.batchSize);
      this.logger.debug(`${mode.mode} projection ${projection.name}`);
    }
  }
}
