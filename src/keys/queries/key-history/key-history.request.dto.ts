import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ORDERS, type Order } from '../../../common/cursor.js';

export class KeyHistoryRequestDto {
  @ApiPropertyOptional({ enum: ORDERS, default: 'asc', description: '`asc`: oldest first, as a history reads (the default); `desc`: newest first' })
  @IsOptional()
  @IsIn(ORDERS)
  order?: Order;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'nextCursor of the previous page, unchanged (opaque; only with the same order)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
