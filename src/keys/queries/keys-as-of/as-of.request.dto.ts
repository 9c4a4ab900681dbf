import { IsISO8601, IsOptional } from 'class-validator';

export class AsOfRequestDto {
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  asOf?: string;
}
