import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsISO8601, IsObject, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import { keepRaw } from '../../../common/index.js';

export class UpdateKeyRequestDto {
  @ApiPropertyOptional({ example: 'billing export (EU)' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  name?: string;

  @ApiPropertyOptional({ example: ['invoices:read', 'invoices:write'], description: 'Replaces the scopes' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  scopes?: string[];

  @ApiPropertyOptional({
    example: { plan: 'enterprise' },
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Replaces the whole tag map',
  })
  @IsOptional()
  @IsObject()
  @Transform(keepRaw, { toClassOnly: true })
  tags?: Record<string, string>;

  @ApiPropertyOptional({ example: '2027-06-01T00:00:00Z', nullable: true, description: 'A future time, or null to remove the expiry' })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string | null;
}
