import { ApiPropertyOptional, ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsInt, IsISO8601, IsObject, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { keepRaw } from '../../../common/index.js';

export class CreateKeyRequestDto {
  @ApiProperty({ example: 'acme', description: '1–64 characters of A-Z a-z 0-9 . _ -' })
  @IsString()
  @MaxLength(64)
  tenantId!: string;

  @ApiProperty({ example: 'billing export', description: '1–128 characters after trimming' })
  @IsString()
  @MaxLength(1024)
  name!: string;

  @ApiPropertyOptional({ example: ['invoices:read'], description: 'At most 64, each matching ^[a-z][a-z0-9_-]*(:[a-z0-9_*-]+)*$' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  scopes?: string[];

  @ApiPropertyOptional({
    example: { plan: 'pro' },
    description: 'Key-bound tags injected by the guard: at most 32, keys 1–64 characters, string values up to 256',
    type: 'object',
    additionalProperties: { type: 'string' },
  })
  @IsOptional()
  @IsObject()
  @Transform(keepRaw, { toClassOnly: true })
  tags?: Record<string, string>;

  @ApiPropertyOptional({ example: '2027-01-01T00:00:00Z', description: 'ISO 8601, in the future. Not with expiresInDays.' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;

  @ApiPropertyOptional({ example: 90, minimum: 1, maximum: 3650, description: 'Not with expiresAt.' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(3650)
  expiresInDays?: number;
}
