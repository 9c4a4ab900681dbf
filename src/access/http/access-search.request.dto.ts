import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min } from 'class-validator';

export class AccessSearchRequestDto {
  @ApiPropertyOptional({ description: "The calling key's tenant (an audit:read key always reads its own)" })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  @Matches(/^[A-Za-z0-9._-]+$/, { message: 'tenantId must be characters of A-Z, a-z, 0-9, ".", "_" or "-", as tenant ids are' })
  tenantId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'The calling key (keyId)' })
  @IsOptional()
  @IsUUID()
  actorId?: string;

  @ApiPropertyOptional({ enum: ['allowed', 'refused'] })
  @IsOptional()
  @IsIn(['allowed', 'refused'])
  outcome?: 'allowed' | 'refused';

  @ApiPropertyOptional({ description: 'ISO 8601, inclusive' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  from?: string;

  @ApiPropertyOptional({ description: 'ISO 8601, exclusive' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  to?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional()
  @Matches(/^\d{1,18}$/, { message: 'cursor is not a cursor this API returned; pass nextCursor unchanged' })
  cursor?: string;
}
