import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { KeyStatus } from '../../domain/api-key.aggregate.js';
import { KEY_REPORT_FORMATS, type KeyReportFormat } from './key-report-format.js';

const MAX_DAYS = 36_500;

export class KeyReportRequestDto {
  @ApiPropertyOptional({ enum: KEY_REPORT_FORMATS, description: 'Default: csv when the Accept header asks for text/csv, else ndjson' })
  @IsOptional()
  @IsIn(KEY_REPORT_FORMATS)
  format?: KeyReportFormat;

  @ApiPropertyOptional({ example: '2026-06-01T00:00:00Z', description: 'Every key as its events made it at this instant (default: now)' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  asOf?: string;

  @ApiPropertyOptional({ description: 'Only this tenant (a tenant-bound caller always gets only its own)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]*$/, { message: 'tenantId must be characters of A-Z, a-z, 0-9, ".", "_" or "-", as tenant ids are' })
  tenantId?: string;

  @ApiPropertyOptional({ enum: ['active', 'expired', 'revoked'], description: 'Only keys with this status at asOf' })
  @IsOptional()
  @IsIn(['active', 'expired', 'revoked'])
  status?: KeyStatus;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_DAYS,
    description: 'Only keys whose current secret was issued more than N days before asOf',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_DAYS)
  secretOlderThanDays?: number;

  @ApiPropertyOptional({
    minimum: 0,
    maximum: MAX_DAYS,
    description: 'Only keys not used in the N days before asOf (a key never used counts from its creation)',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_DAYS)
  unusedForDays?: number;
}
