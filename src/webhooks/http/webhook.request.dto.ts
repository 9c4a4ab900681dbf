import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { DELIVERABLE_EVENT_TYPES } from '../domain/webhook-event-types.js';

const URL_DESCRIPTION =
  'https URL (http too with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true); refused if it resolves to a loopback, private, link-local or metadata address';

export class CreateWebhookRequestDto {
  @ApiProperty({ example: 'https://hooks.example.com/keyledger', description: URL_DESCRIPTION, maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  url!: string;

  @ApiProperty({ enum: DELIVERABLE_EVENT_TYPES, isArray: true, example: ['key.revoked', 'key.leaked', 'key.expiring'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(DELIVERABLE_EVENT_TYPES.length)
  @IsIn(DELIVERABLE_EVENT_TYPES, { each: true })
  eventTypes!: string[];

  @ApiPropertyOptional({
    example: 'acme',
    description: "The tenant whose keys it hears of; omitted: the caller's tenant, or platform-wide for an admin key",
  })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,64}$/, { message: 'tenantId must be 1–64 characters of A-Z a-z 0-9 . _ -' })
  tenantId?: string;
}

export class UpdateWebhookRequestDto {
  @ApiPropertyOptional({ description: URL_DESCRIPTION, maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  url?: string;

  @ApiPropertyOptional({ enum: DELIVERABLE_EVENT_TYPES, isArray: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(DELIVERABLE_EVENT_TYPES.length)
  @IsIn(DELIVERABLE_EVENT_TYPES, { each: true })
  eventTypes?: string[];

  @ApiPropertyOptional({ description: 'false pauses deliveries (new events are not queued for it); true resumes' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;
}

export class ListWebhooksRequestDto {
  @ApiPropertyOptional({ description: 'Only this tenant (admin keys see every tenant and the platform-wide endpoints without it)' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  tenantId?: string;
}

export class DeliveriesRequestDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 500, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(500)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextBefore of the previous page' })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before?: number;
}
