import { ApiProperty } from '@nestjs/swagger';
import type { DeliveryView, WebhookEndpointView } from '../webhook-endpoints.js';

export class WebhookResponseDto implements WebhookEndpointView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ nullable: true, type: String, description: 'null: platform-wide' }) tenantId!: string | null;
  @ApiProperty() url!: string;
  @ApiProperty({ type: [String] }) eventTypes!: string[];
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ nullable: true, type: String }) disabledReason!: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ format: 'date-time' }) updatedAt!: string;
  @ApiProperty() version!: number;
}

export class WebhookWithSecretResponseDto extends WebhookResponseDto {
  @ApiProperty({ example: 'whsec_…', description: 'The signing secret, shown in this response only' }) secret!: string;
}

export class WebhookListResponseDto {
  @ApiProperty({ type: [WebhookResponseDto] }) items!: WebhookResponseDto[];
}

export class DeliveryResponseDto implements DeliveryView {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ description: 'The webhook-id header: the same on every attempt and redelivery' }) messageId!: string;
  @ApiProperty() eventType!: string;
  @ApiProperty({ format: 'uuid' }) keyId!: string;
  @ApiProperty({ enum: ['pending', 'delivered', 'failed'] }) status!: 'pending' | 'delivered' | 'failed';
  @ApiProperty() attempts!: number;
  @ApiProperty({ format: 'date-time' }) createdAt!: string;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) lastAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) nextAttemptAt!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'date-time' }) deliveredAt!: string | null;
  @ApiProperty({ nullable: true, type: Number }) responseStatus!: number | null;
  @ApiProperty({ nullable: true, type: String, description: 'The first 1 KB of the last response' }) responseBody!: string | null;
  @ApiProperty({ nullable: true, type: String }) error!: string | null;
  @ApiProperty({ nullable: true, type: String, format: 'uuid' }) redeliveryOf!: string | null;
}

export class DeliveryPageResponseDto {
  @ApiProperty({ type: [DeliveryResponseDto] }) items!: DeliveryResponseDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'Pass as ?before= for the next (older) page; null on the last' }) nextBefore!:
    number | null;
}

export class WebhookDeletedResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ enum: [true] }) deleted!: true;
}
