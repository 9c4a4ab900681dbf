import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { KEY_SORTS, type KeySort, type KeyStatusFilter } from './list-keys.query.js';

export class ListKeysRequestDto {
  @ApiPropertyOptional({ description: 'Only this tenant (a tenant-bound caller always sees only its own)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tenantId?: string;

  @ApiPropertyOptional({ enum: ['active', 'expired', 'revoked', 'all'], default: 'active' })
  @IsOptional()
  @IsIn(['active', 'expired', 'revoked', 'all'])
  status?: KeyStatusFilter;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;

  @ApiPropertyOptional({
    example: '2026-11-01T00:00:00Z',
    description: 'Only keys not used since this instant (a key never used counts as unused); last uses are written every USAGE_FLUSH_MS',
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  unusedSince?: string;

  @ApiPropertyOptional({
    enum: KEY_SORTS,
    default: 'createdAt',
    description: 'Newest first by creation, or by last use (never-used keys last)',
  })
  @IsOptional()
  @IsIn(KEY_SORTS)
  sort?: KeySort;

  @ApiPropertyOptional({
    example: '2026-06-01T12:00:00Z',
    description: 'List the keys that were valid at this instant, replayed from their events (status is then ignored)',
  })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  activeAt?: string;
}
