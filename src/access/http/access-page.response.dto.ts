import { ApiProperty } from '@nestjs/swagger';
import type { AccessEntry, AccessPage } from '../access-reader.js';

class AccessActorDto {
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty() publicId!: string;
  @ApiProperty() tenantId!: string;
}

export class AccessEntryDto implements AccessEntry {
  @ApiProperty() id!: number;
  @ApiProperty({ format: 'date-time' }) recordedAt!: string;
  @ApiProperty({ enum: ['allowed', 'refused'] }) outcome!: 'allowed' | 'refused';
  @ApiProperty({ description: 'The HTTP status the caller got' }) status!: number;
  @ApiProperty({ description: '`OK`, or the error code the caller got' }) code!: string;
  @ApiProperty({ example: 'POST /admin/api-keys/:id/rotate' }) route!: string;
  @ApiProperty({ type: String, nullable: true, description: 'The key named in the route' }) target!: string | null;
  @ApiProperty({ type: AccessActorDto }) actor!: AccessActorDto;
  @ApiProperty() requestId!: string;
  @ApiProperty({ type: String, nullable: true }) ip!: string | null;
  @ApiProperty({ type: String, nullable: true }) userAgent!: string | null;
}

export class AccessPageResponseDto implements AccessPage {
  @ApiProperty({ type: [AccessEntryDto], description: 'Newest first' }) items!: AccessEntryDto[];
  @ApiProperty({ type: String, nullable: true, description: 'Pass as ?cursor= for the next page; null on the last page' }) nextCursor!:
    string | null;
}
