import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { DEFAULT_USAGE_DAYS, MAX_USAGE_DAYS } from './usage-days.js';

export class KeyUsageRequestDto {
  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_USAGE_DAYS,
    default: DEFAULT_USAGE_DAYS,
    description: 'How many UTC days, today included',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_USAGE_DAYS)
  days?: number;
}

export class TenantUsageRequestDto extends KeyUsageRequestDto {
  @ApiPropertyOptional({
    description: 'Only this tenant (a tenant-bound caller always sees only its own); unset for a platform admin: every tenant',
  })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tenantId?: string;
}
