import { ApiProperty } from '@nestjs/swagger';
import { ActorResponseDto, CHANGES_SCHEMA, REASON_CODE_SCHEMA, type Changes } from '../../keys/index.js';
import type { AuditEntry } from '../queries/audit-filter.js';
import type { AuditPage } from '../queries/audit-reader.js';

export class AuditEntryResponseDto implements AuditEntry {
  @ApiProperty({ description: 'Place in the hash chain (1, 2, …)' }) seq!: number;
  @ApiProperty({ description: 'Global position of the event in the event store' }) position!: number;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ example: 'key.revoked' }) type!: string;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) keyId!: string | null;
  @ApiProperty({ nullable: true, type: String }) publicId!: string | null;
  @ApiProperty({ nullable: true, type: String }) tenantId!: string | null;
  @ApiProperty({ type: ActorResponseDto }) actor!: ActorResponseDto;
  @ApiProperty({ nullable: true, type: String }) requestId!: string | null;
  @ApiProperty({ nullable: true, type: String }) ip!: string | null;
  @ApiProperty({ nullable: true, type: String }) userAgent!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'key.expired: `ttl`, `manual` or `inactive`; key.revoked: the reason given' })
  reason!: string | null;
  @ApiProperty(REASON_CODE_SCHEMA) reasonCode!: string | null;
  @ApiProperty(CHANGES_SCHEMA) changes!: Changes;
  @ApiProperty({ description: 'SHA-256 chain hash after this event, hex' }) chainHash!: string;
}

export class AuditPageResponseDto implements AuditPage {
  @ApiProperty({ type: [AuditEntryResponseDto] }) items!: AuditEntryResponseDto[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as ?cursor= (with the same order) for the next page; null on the last page',
  })
  nextCursor!: string | null;
}
