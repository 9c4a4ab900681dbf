import { Controller, Get, Inject, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../../dto/index.js';
import { APP_CONFIG, type AppConfig } from '../../config/index.js';
import type { Actor } from '../../keys/index.js';
import { AuditExporter } from '../export/audit-exporter.js';
import { AuditPageResponseDto } from './audit.response.dto.js';
import { EXPORT_FORMATS, type ExportFormat } from '../export/export-format.js';
import { AuditFilterDto, AuditSearchDto, type AuditFilter } from '../queries/audit-filter.js';
import { AuditReader, type AuditDigest, type AuditPage } from '../queries/audit-reader.js';
import { ChainVerifier, type VerifyResult } from '../queries/chain-verifier.js';
import { AuditDigestResponseDto, AuditVerifyResponseDto } from './audit-chain.response.dto.js';

class AuditExportDto extends AuditFilterDto {
  @ApiPropertyOptional({ enum: EXPORT_FORMATS, default: 'ndjson' }) @IsOptional() @IsIn(EXPORT_FORMATS) format?: ExportFormat;
}

/** Content-Type and file name ending of each export format. */
const DOWNLOADS: Record<ExportFormat, { type: string; extension: string }> = {
  ndjson: { type: 'application/x-ndjson; charset=utf-8', extension: 'ndjson' },
  csv: { type: 'text/csv; charset=utf-8', extension: 'csv' },
  'events-ndjson': { type: 'application/x-ndjson; charset=utf-8', extension: 'events.ndjson' },
};

class VerifyDto {
  @ApiPropertyOptional({ description: '`<position>:<chainHash>` from /admin/audit/digest, kept outside the system' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  fromDigest?: string;
}

function actorOf(p: ApiKeyPrincipal): Actor {
  return { type: 'api-key', id: p.keyId, tenantId: p.tenantId, scopes: p.scopes };
}

function filterOf(dto: AuditFilterDto): AuditFilter {
  return {
    tenantId: dto.tenantId,
    keyId: dto.keyId,
    actorId: dto.actorId,
    type: dto.type,
    reasonCode: dto.reasonCode,
    from: dto.from,
    to: dto.to,
  };
}

/** `admin` reads every tenant's audit log; `audit:read` its own tenant's. */
@ApiTags('admin: audit')
@ApiErrorResponses(401, 403, 503)
@RequireApiKey({ scopes: ['audit:read'] })
@Controller('admin/audit')
export class AuditController {
  constructor(
    private readonly reader: AuditReader,
    private readonly verifier: ChainVerifier,
    private readonly exporter: AuditExporter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Audit entries, newest first unless order=asc, keyset-paginated with an opaque cursor' })
  @ApiOkResponse({ type: AuditPageResponseDto })
  @ApiErrorResponses(400)
  search(@Query() q: AuditSearchDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<AuditPage> {
    return this.reader.search(actorOf(principal), filterOf(q), q.limit ?? 100, q.cursor, q.order ?? 'desc');
  }

  @Get('export')
  @ApiOperation({
    summary:
      'Stream every matching entry as NDJSON or CSV (constant memory); events-ndjson (admin, no filters): every hashed event in chain order, checkable alone against a digest',
  })
  @ApiQuery({ name: 'format', required: false, enum: EXPORT_FORMATS })
  @ApiOkResponse({
    description: 'A download (`Content-Disposition: attachment`): one JSON object per line, or CSV with a header row',
    content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } },
  })
  @ApiErrorResponses(400, { status: 429, description: 'AUDIT_EXPORT_CONCURRENCY exports are already running on this instance' })
  async export(@Query() q: AuditExportDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<StreamableFile> {
    const format = q.format ?? 'ndjson';
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    // open() refuses a bad filter (400/403), a full house (429) or an unreachable database (503) before the response starts.
    const stream = await this.exporter.open(actorOf(principal), filterOf(q), format, {
      idleTimeoutMs: this.config.auditExportIdleTimeoutMs,
    });
    const { type, extension } = DOWNLOADS[format];
    return new StreamableFile(stream, { type, disposition: `attachment; filename="keyledger-audit-${stamp}.${extension}"` });
  }

  @Get('digest')
  @RequireApiKey({ scopes: ['admin'] })
  // The chain spans every tenant: its head and its verification are for admins.
  @ApiOperation({ summary: 'The head of the hash chain: store it outside the system, verify against it later' })
  @ApiOkResponse({ type: AuditDigestResponseDto })
  digest(): Promise<AuditDigest> {
    return this.reader.digest();
  }

  @Get('verify')
  @RequireApiKey({ scopes: ['admin'] })
  @ApiOperation({ summary: 'Recompute the chain from the events table and check it against the audit log and a digest' })
  @ApiOkResponse({ type: AuditVerifyResponseDto })
  @ApiErrorResponses(400)
  verify(@Query() q: VerifyDto): Promise<VerifyResult> {
    return this.verifier.verify(q.fromDigest);
  }
}
