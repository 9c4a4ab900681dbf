import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUrl, MaxLength } from 'class-validator';

/**
 * Where a leaked token was found: an absolute http(s) URL, checked here as strictly as the
 * aggregate checks `sourceUrl` (MaxLength counts UTF-16 units, the aggregate code points), so a
 * report that passes validation is never refused half-way through.
 */
export const IsSourceUrl = (): PropertyDecorator =>
  applyDecorators(IsString(), IsUrl({ require_protocol: true, protocols: ['http', 'https'], require_tld: false }), MaxLength(2048));

export class ReportLeakRequestDto {
  @ApiProperty({ description: 'The plaintext key found exposed; never echoed back', example: 'kl_live_a1B2c3D4e5F6_…' })
  @IsString()
  @MaxLength(512)
  token!: string;

  @ApiPropertyOptional({
    description: 'Where it was found (recorded in the KeyRevoked event)',
    example: 'https://github.com/acme/app/blob/main/.env',
    maxLength: 2048,
  })
  @IsOptional()
  @IsSourceUrl()
  sourceUrl?: string;
}

export class ReportLeakResponseDto {
  @ApiProperty({
    enum: ['true_positive', 'false_positive'],
    description: '`true_positive`: a token of a key you manage (whatever its status); `false_positive`: anything else',
  })
  label!: 'true_positive' | 'false_positive';
  @ApiPropertyOptional({ format: 'uuid', description: 'The key, for a true positive' }) keyId?: string;
  @ApiPropertyOptional({ description: 'The key, for a true positive' }) publicId?: string;
  @ApiPropertyOptional({
    description: 'Whether this report revoked the key (false: it was revoked or expired already, or the secret was rotated out)',
  })
  revoked?: boolean;
}
