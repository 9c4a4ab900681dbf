import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsOptional, IsString, MaxLength } from 'class-validator';

export class VerifyKeyRequestDto {
  @ApiProperty({ description: 'The key your client presented', example: 'kl_live_a1B2c3D4e5F6_…' })
  @IsString()
  @MaxLength(512)
  key!: string;

  @ApiPropertyOptional({ example: ['invoices:read'], description: 'Scopes the key must hold' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  @MaxLength(128, { each: true })
  scopes?: string[];
}

export class VerifyKeyResponseDto {
  @ApiProperty() valid!: boolean;
  @ApiProperty({ enum: ['VALID', 'NOT_FOUND', 'MALFORMED', 'EXPIRED', 'REVOKED', 'INSUFFICIENT_SCOPE'] }) code!: string;
  @ApiPropertyOptional() keyId?: string;
  @ApiPropertyOptional() publicId?: string;
  @ApiPropertyOptional() tenantId?: string;
  @ApiPropertyOptional({ type: [String] }) scopes?: readonly string[];
  @ApiPropertyOptional({ type: 'object', additionalProperties: { type: 'string' } }) tags?: Readonly<Record<string, string>>;
  @ApiPropertyOptional({ nullable: true, type: String }) expiresAt?: string | null;
}
