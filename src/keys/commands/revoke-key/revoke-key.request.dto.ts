import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { ExpireKeyRequestDto } from '../expire-key/expire-key.request.dto.js';

/** An expiry's body (its `reasonCode`) and a free-text reason. */
export class RevokeKeyRequestDto extends ExpireKeyRequestDto {
  @ApiPropertyOptional({ example: 'leaked in a public repository', maxLength: 512 })
  @IsOptional()
  @IsString()
  @MaxLength(512)
  reason?: string;
}
