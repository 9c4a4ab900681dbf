import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import type { KeyView } from '../key-view.js';
import { REASON_CODES, type ReasonCode } from '../domain/reason-code.js';
import type { KeyUsage } from '../queries/usage/key-usage.query.js';
import type { TenantUsage } from '../queries/usage/tenant-usage.query.js';
import type { UsageDay } from '../queries/usage/usage-days.js';
import type { KeyHistoryItem, KeyHistoryPage } from '../queries/key-history/key-history.query.js';
import type { ActorRef, Changes } from '../queries/key-history/key-timeline.js';

/** A key's, an event's or an audit entry's reason code. */
export const REASON_CODE_SCHEMA: ApiPropertyOptions = {
  nullable: true,
  enum: REASON_CODES,
  description:
    'key.expired / key.revoked (an expired or revoked key): why, as a code (`other` for those written before codes existed); null otherwise',
};

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
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Expired: `ttl` or `manual`; revoked: the reason given. null until the key.expired or key.revoked is written',
  })
  reason!: string | null;
  @ApiProperty(REASON_CODE_SCHEMA) reasonCode!: ReasonCode | null;
  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'date-time',
    description:
      'The last accepted use any instance has recorded (written every USAGE_FLUSH_MS, so up to one interval late); null if never used. In GET and the list only',
  })
  lastUsedAt?: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'The client IP of that use' }) lastUsedIp?: string | null;
  @ApiPropertyOptional({ nullable: true, type: String, description: 'The user agent of that use (at most 256 characters)' })
  lastUsedUserAgent?: string | null;
}

export class KeyWithSecretResponseDto extends KeyResponseDto {
  @ApiProperty({
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

export class ActorResponseDto implements ActorRef {
  @ApiProperty({ nullable: true, type: String, enum: ['api-key', 'cli', 'system'] }) type!: string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    example: '0b9c8f0e-4c1e-4d5e-9a57-3f2d8c1b7a60',
    description:
      'api-key: the acting keyId; cli: `cli:<os user>`; system: `system:expiry-sweeper`, `system:bootstrap` (`system` in older events)',
  })
  id!: string | null;
  @ApiProperty({ nullable: true, type: String, description: "The acting key's publicId; null for the CLI and the system" }) publicId!:
    string | null;
  @ApiProperty({
    nullable: true,
    type: String,
    description: "The acting key's name when it acted (from its own events, not its name today); null for the CLI and the system",
  })
  name!: string | null;
}

/** `{field: {from, to}}`: the one shape of what an event changed, in the history and the audit log. */
export const CHANGES_SCHEMA: ApiPropertyOptions = {
  type: 'object',
  description:
    'What the event changed: each field as `{from, to}`, `from` null where there was no value before. Secret hashes never appear.',
  additionalProperties: { type: 'object', required: ['from', 'to'], properties: { from: { nullable: true }, to: { nullable: true } } },
  example: { expiresAt: { from: null, to: '2027-01-01T00:00:00.000Z' }, graceEndsAt: { from: null, to: '2026-12-05T11:00:00.000Z' } },
};

class UnknownEventResponseDto {
  @ApiProperty() schemaVersion!: number;
  @ApiProperty() problem!: string;
}

export class KeyHistoryItemResponseDto implements KeyHistoryItem {
  @ApiProperty({ example: 'key.rotated' }) type!: string;
  @ApiProperty({ description: 'Stream version of the event' }) version!: number;
  @ApiProperty({ description: 'Global position in the event store' }) position!: number;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
  @ApiProperty({ type: ActorResponseDto, nullable: true }) actor!: ActorResponseDto | null;
  @ApiProperty({ nullable: true, type: String }) requestId!: string | null;
  @ApiProperty({ nullable: true, type: String }) ip!: string | null;
  @ApiProperty({ nullable: true, type: String }) userAgent!: string | null;
  @ApiProperty({ nullable: true, type: String, description: 'key.expired: `ttl` or `manual`; key.revoked: the reason given' }) reason!:
    string | null;
  @ApiProperty(REASON_CODE_SCHEMA) reasonCode!: ReasonCode | null;
  @ApiProperty(CHANGES_SCHEMA) changes!: Changes;
  @ApiPropertyOptional({
    type: UnknownEventResponseDto,
    description: 'Only on an event this version cannot read: its schema version and why',
  })
  unknown?: UnknownEventResponseDto;
}

export class KeyHistoryPageResponseDto implements KeyHistoryPage {
  @ApiProperty({ type: [KeyHistoryItemResponseDto] }) items!: KeyHistoryItemResponseDto[];
  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as ?cursor= (with the same order) for the next page; null on the last page',
  })
  nextCursor!: string | null;
}

export class UsageDayResponseDto implements UsageDay {
  @ApiProperty({ example: '2026-12-05', description: 'A UTC day' }) day!: string;
  @ApiProperty({ description: 'Verifications that accepted the key' }) valid!: number;
  @ApiProperty({ description: 'Refused: the key lacked a required scope' }) insufficientScope!: number;
  @ApiProperty({ description: 'Refused: the key had expired' }) expired!: number;
  @ApiProperty({ description: 'Refused: the key was revoked' }) revoked!: number;
}

const USAGE_ITEMS: ApiPropertyOptions = {
  type: [UsageDayResponseDto],
  description:
    'One entry per UTC day, oldest first, zero-filled. Counts are written by each instance every USAGE_FLUSH_MS (today is up to one interval behind); for charts, not billing. Refusals that name no known key are not counted per key.',
};

export class KeyUsageResponseDto implements KeyUsage {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty({ description: 'How many UTC days, today included' }) days!: number;
  @ApiProperty(USAGE_ITEMS) items!: UsageDayResponseDto[];
}

export class TenantUsageResponseDto implements TenantUsage {
  @ApiProperty({ nullable: true, type: String, description: 'null: every tenant' }) tenantId!: string | null;
  @ApiProperty({ description: 'How many UTC days, today included' }) days!: number;
  @ApiProperty(USAGE_ITEMS) items!: UsageDayResponseDto[];
}
