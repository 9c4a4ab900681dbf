import { ApiProperty } from '@nestjs/swagger';

export interface ConsoleSession {
  keyId: string;
  publicId: string;
  /** The signed-in key's own name, from the read model. */
  name: string | null;
  tenantId: string;
  scopes: readonly string[];
  expiresAt: string | null;
  /** `admin`: every tenant, the audit digest and verify. */
  admin: boolean;
  canManageKeys: boolean;
  canReadAudit: boolean;
  canManageWebhooks: boolean;
}

export class ConsoleSessionResponseDto implements ConsoleSession {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty() publicId!: string;
  @ApiProperty({ type: String, nullable: true, description: "The signed-in key's own name, from the read model" }) name!: string | null;
  @ApiProperty() tenantId!: string;
  @ApiProperty({ type: [String] }) scopes!: string[];
  @ApiProperty({ type: String, nullable: true, format: 'date-time' }) expiresAt!: string | null;
  @ApiProperty({ description: '`admin`: every tenant, the audit digest and verify' }) admin!: boolean;
  @ApiProperty() canManageKeys!: boolean;
  @ApiProperty() canReadAudit!: boolean;
  @ApiProperty() canManageWebhooks!: boolean;
}
