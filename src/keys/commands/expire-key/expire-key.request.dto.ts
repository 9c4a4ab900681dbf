import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { REASON_CODES, type ReasonCode } from '../../domain/reason-code.js';

/** The body is optional: an expiry without one has the code `other`. */
export class ExpireKeyRequestDto {
  @ApiPropertyOptional({
    enum: REASON_CODES,
    description: 'Why, as a code the audit log and the key report group by; `other` when not given',
  })
  @IsOptional()
  @IsIn(REASON_CODES)
  reasonCode?: ReasonCode;
}
