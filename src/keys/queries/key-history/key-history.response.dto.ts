import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { KeyHistoryItem } from './key-history.query.js';

// The OpenAPI schema of GET /admin/api-keys/:id/events, kept beside the query it describes:
// `implements` makes the compiler refuse a schema that drifts from KeyHistoryItem.

class HistoryActorDto {
  @ApiProperty({ example: 'api-key', description: '`api-key`, `cli` or `system`' }) type!: string;
  @ApiProperty() id!: string;
}

class UnknownEventDto {
  @ApiProperty() schemaVersion!: number;
  @ApiProperty() problem!: string;
}

export class KeyHistoryItemDto implements KeyHistoryItem {
  @ApiProperty({ example: 'key.rotated' }) type!: string;
  @ApiProperty({ description: 'Position in the key’s stream, from 1' }) version!: number;
  @ApiProperty({ description: 'Global position in the event store' }) position!: number;
  @ApiProperty({ format: 'date-time' }) occurredAt!: string;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
  @ApiProperty({ type: HistoryActorDto, nullable: true }) actor!: HistoryActorDto | null;
  @ApiProperty({ type: String, nullable: true }) requestId!: string | null;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent!: string | null;
  @ApiProperty({ type: 'object', additionalProperties: true, description: 'What the event changed; secret hashes are never included' })
  changes!: Record<string, unknown>;
  @ApiPropertyOptional({ type: UnknownEventDto, description: 'Only on a stored event this version cannot read: why' }) unknown?: UnknownEventDto;
}

export class KeyHistoryResponseDto {
  @ApiProperty({ type: [KeyHistoryItemDto], description: 'Oldest first' }) items!: KeyHistoryItemDto[];
}
