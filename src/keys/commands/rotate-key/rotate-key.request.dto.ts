import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsISO8601, IsOptional, Max, Min, ValidateIf } from 'class-validator';

export class RotateKeyRequestDto {
  @ApiPropertyOptional({
    example: 86400,
    minimum: 0,
    maximum: 2592000,
    description: 'How long the previous secret keeps working (0–30 days). Default 0.',
  })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(2_592_000)
  gracePeriodSeconds?: number;

  @ApiPropertyOptional({
    example: '2027-06-01T00:00:00Z',
    nullable: true,
    description: 'A new expiry (future), null to remove it; omitted keeps it',
  })
  @IsOptional()
  @ValidateIf((_, value) => value !== null)
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string | null;
}
