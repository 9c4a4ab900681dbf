import { ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { AuditSearchDto } from '../../audit/index.js';

/** The audit log's time range and page size, and filters of the access records' own. */
export class AccessSearchRequestDto extends PickType(AuditSearchDto, ['from', 'to', 'limit'] as const) {
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

  @ApiPropertyOptional({ description: 'nextCursor of the previous page, unchanged (opaque)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
