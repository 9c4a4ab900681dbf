import { ApiProperty } from '@nestjs/swagger';
import type { AuditEntry } from '../queries/audit-filter.js';
import type { AuditPage } from '../queries/audit-reader.js';

// The OpenAPI schema of GET /admin/audit, in one place: `implements` makes the compiler refuse a
// schema that drifts from AuditEntry and AuditPage.

class AuditActorDto {
  @ApiProperty({ type: String, nullable: true, example: 'api-key', description: '`api-key`, `cli` or `system`' }) type!: string | null;
  @ApiProperty({ type: String, nullable: true }) id!: string | null;
}

export class AuditEntryDto implements AuditEntry {
  @ApiProperty({ description: 'Order of the entry in the audit log' }) seq!: number;
  @ApiProperty({ description: 'Global position of the event' }) position!: number;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ example: 'key.created' }) type!: string;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) keyId!: string | null;
  @ApiProperty({ type: String, nullable: true }) publicId!: string | null;
  @ApiProperty({ type: String, nullable: true }) tenantId!: string | null;
  @ApiProperty({ type: AuditActorDto }) actor!: AuditActorDto;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent!: string | null;
  @ApiProperty({ type: String, nullable: true, description: 'Why a key was revoked or expired' }) reason!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'What the event changed; secret hashes are never included' })
  changes!: Record<string, unknown>;
  @ApiProperty({ description: 'Hex SHA-256 of the chain up to this event (docs/audit.md)' }) chainHash!: string;
}

export class AuditPageResponseDto implements AuditPage {
  @ApiProperty({ type: [AuditEntryDto], description: 'Newest first' }) items!: AuditEntryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page; null on the last page' }) nextCursor!: string | null;
}
