import { ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, IsArray, IsBoolean, IsInt, IsOptional, IsString, Max, Min, ValidateIf } from 'class-validator';
import { MAX_GRACE_PERIOD_SECONDS } from '../../domain/api-key.aggregate.js';
import { MAX_POLICY_DAYS } from '../../policy/key-policy.js';

const notNull = (_: unknown, value: unknown): boolean => value !== null;

/** The whole policy of one level; a setting left out (or null) is not set here. */
export class SetPolicyRequestDto {
  @ApiPropertyOptional({
    example: 90,
    nullable: true,
    minimum: 1,
    maximum: MAX_POLICY_DAYS,
    description: "A secret's expiresAt at most this many days after it was issued (created or rotated)",
  })
  @IsOptional()
  @ValidateIf(notNull)
  @IsInt()
  @Min(1)
  @Max(MAX_POLICY_DAYS)
  maxLifetimeDays?: number | null;

  @ApiPropertyOptional({
    example: 30,
    nullable: true,
    minimum: 1,
    maximum: MAX_POLICY_DAYS,
    description: 'The expiry a create without one gets; at most maxLifetimeDays',
  })
  @IsOptional()
  @ValidateIf(notNull)
  @IsInt()
  @Min(1)
  @Max(MAX_POLICY_DAYS)
  defaultLifetimeDays?: number | null;

  @ApiPropertyOptional({ example: true, nullable: true, description: 'Every key has an expiresAt' })
  @IsOptional()
  @ValidateIf(notNull)
  @IsBoolean()
  requireExpiry?: boolean | null;

  @ApiPropertyOptional({
    example: 3600,
    nullable: true,
    minimum: 0,
    maximum: MAX_GRACE_PERIOD_SECONDS,
    description: "A rotation's grace period at most this long",
  })
  @IsOptional()
  @ValidateIf(notNull)
  @IsInt()
  @Min(0)
  @Max(MAX_GRACE_PERIOD_SECONDS)
  maxGracePeriodSeconds?: number | null;

  @ApiPropertyOptional({ example: ['invoices:*'], nullable: true, description: 'A key of the tenant may only hold scopes these cover' })
  @IsOptional()
  @ValidateIf(notNull)
  @IsArray()
  @ArrayMaxSize(64)
  @IsString({ each: true })
  allowedScopes?: string[] | null;

  @ApiPropertyOptional({
    example: 90,
    nullable: true,
    minimum: 1,
    maximum: MAX_POLICY_DAYS,
    description: 'The sweeper expires keys unused this long (never used: since creation); off when not set',
  })
  @IsOptional()
  @ValidateIf(notNull)
  @IsInt()
  @Min(1)
  @Max(MAX_POLICY_DAYS)
  inactiveAfterDays?: number | null;
}
