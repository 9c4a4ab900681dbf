import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { ORDERS, type Order } from '../../../common/cursor.js';
import { PageRequestDto } from '../../../common/page.request.dto.js';

export class KeyHistoryRequestDto extends PageRequestDto {
  @ApiPropertyOptional({ enum: ORDERS, default: 'asc', description: '`asc`: oldest first, as a history reads (the default); `desc`: newest first' })
  @IsOptional()
  @IsIn(ORDERS)
  order?: Order;
}
