import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { REASON_CODES, type ReasonCode } from '../../domain/reason-code.js';

export class RevokeKeyRequestDto {
  @ApiPropertyOptional({ example: 'leaked in a public repository', maxLength: 512 })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  reason?: string;

  @ApiPropertyOptional({
    enum: REASON_CODES,
    description: 'Why, as a code the audit log and the key report group by; `other` when not given',
  })
  @IsOptional()
  @IsIn(REASON_CODES)
  reasonCode?: ReasonCode;
}
