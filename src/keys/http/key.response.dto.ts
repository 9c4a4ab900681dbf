import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { KeyView } from '../key-view.js';

export class KeyResponseDto implements KeyView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'a1B2c3D4e5F6', description: 'Embedded in the token; unique forever' }) publicId!: string;
  @ApiProperty() name!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ type: [String] }) scopes!: string[];
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) tags!: Record<string, string>;
  @ApiProperty({ enum: ['active', 'expired', 'revoked'] }) status!: 'active' | 'expired' | 'revoked';
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time', description: 'Until then the previous secret still works' })
  graceEndsAt!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty({ description: 'Stream version; also the ETag' }) version!: number;
}

export class KeyWithSecretResponseDto extends KeyResponseDto {
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    description:
      'The plaintext key, shown only in this response. null on an idempotent replay: the secret is never shown twice; rotate the key to get a new one.',
  })
  key!: string | null;
}

export class KeyListResponseDto {
  @ApiProperty({ type: [KeyResponseDto] }) items!: KeyResponseDto[];
  @ApiProperty({ nullable: true, type: String, description: 'Pass as ?cursor= for the next page; null on the last page' })
  nextCursor!: string | null;
}
