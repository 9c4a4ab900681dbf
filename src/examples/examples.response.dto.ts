import { ApiProperty } from '@nestjs/swagger';
import type { ApiKeyPrincipal } from '@keyledger/nestjs';

export class PrincipalResponseDto implements ApiKeyPrincipal {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty() publicId!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ type: [String] }) scopes!: string[];
  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string' },
    description: 'Key-bound: set by the registry, never by the client',
  })
  tags!: Record<string, string>;
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) expiresAt!: string | null;
}

export class ReportsResponseDto {
  @ApiProperty() tenantId!: string;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) tags!: Record<string, string>;
  @ApiProperty({ type: [String] }) reports!: string[];
}
