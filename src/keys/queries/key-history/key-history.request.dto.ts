import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { type Order, ORDERS } from '../../../common/index.js';
import { PageRequestDto } from '../../../dto/index.js';

export class KeyHistoryRequestDto extends PageRequestDto {
  @ApiPropertyOptional({
    enum: ORDERS,
    default: 'asc',
    description: '`asc`: oldest first, as a history reads (the default); `desc`: newest first',
  })
  @IsOptional()
  @IsIn(ORDERS)
  order?: Order;
}
