import { ApiProperty } from '@nestjs/swagger';
import type { PolicySettings } from '../policy/key-policy.js';
import type { PolicyView } from '../policy/policy-view.js';
import type { PolicyViolations } from '../queries/policy-violations/policy-violations.query.js';

export class PolicySettingsResponseDto implements PolicySettings {
  @ApiProperty({ nullable: true, type: Number, example: 90 }) maxLifetimeDays!: number | null;
  @ApiProperty({ nullable: true, type: Number, example: 30 }) defaultLifetimeDays!: number | null;
  @ApiProperty({ nullable: true, type: Boolean, example: true }) requireExpiry!: boolean | null;
  @ApiProperty({ nullable: true, type: Number, example: 3600 }) maxGracePeriodSeconds!: number | null;
  @ApiProperty({ nullable: true, type: [String], example: ['invoices:*'] }) allowedScopes!: string[] | null;
  @ApiProperty({ nullable: true, type: Number, example: 90 }) inactiveAfterDays!: number | null;
}

/** A setting's value: a number of days or seconds, requireExpiry's boolean, or scopes. */
const settingValue = { oneOf: [{ type: 'number' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }] };

export class EffectiveSettingResponseDto {
  @ApiProperty({ ...settingValue, nullable: true, description: 'The value that holds (null: no rule)' })
  value!: unknown;
  @ApiProperty({ nullable: true, type: String, enum: ['tenant', 'platform'], description: 'Where it comes from; null: nowhere, no rule' })
  source!: 'tenant' | 'platform' | null;
}

const effective = { type: EffectiveSettingResponseDto };

export class EffectivePolicyResponseDto {
  @ApiProperty(effective) maxLifetimeDays!: EffectiveSettingResponseDto;
  @ApiProperty(effective) defaultLifetimeDays!: EffectiveSettingResponseDto;
  @ApiProperty(effective) requireExpiry!: EffectiveSettingResponseDto;
  @ApiProperty(effective) maxGracePeriodSeconds!: EffectiveSettingResponseDto;
  @ApiProperty(effective) allowedScopes!: EffectiveSettingResponseDto;
  @ApiProperty(effective) inactiveAfterDays!: EffectiveSettingResponseDto;
}

export class PolicyResponseDto implements PolicyView {
  @ApiProperty({ nullable: true, type: String, description: 'null: the platform default' }) tenantId!: string | null;
  @ApiProperty({ description: "The policy stream's version (0: never set); also the ETag" }) version!: number;
  @ApiProperty({ type: PolicySettingsResponseDto, description: "This level's own settings (null: not set here)" })
  policy!: PolicySettingsResponseDto;
  @ApiProperty({
    type: EffectivePolicyResponseDto,
    description: "Per setting: the tenant's value where set, else the platform's, else no rule",
  })
  effective!: EffectivePolicyResponseDto;
}

export class PolicyBreachResponseDto {
  @ApiProperty({ example: 'maxLifetimeDays' }) rule!: string;
  @ApiProperty({ ...settingValue, description: "The rule's limit", example: 90 }) limit!: unknown;
  @ApiProperty({ ...settingValue, nullable: true, description: 'What the key has', example: 120 }) got!: unknown;
}

export class PolicyViolationKeyResponseDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty() publicId!: string;
  @ApiProperty() tenantId!: string;
  @ApiProperty() name!: string;
  @ApiProperty({ type: [PolicyBreachResponseDto] }) breaches!: PolicyBreachResponseDto[];
}

export class PolicyViolationsResponseDto implements PolicyViolations {
  @ApiProperty({ description: 'Active keys that break their effective policy' }) total!: number;
  @ApiProperty({ type: [PolicyViolationKeyResponseDto], description: 'The first 1,000, by tenant, then creation' })
  keys!: PolicyViolationKeyResponseDto[];
  @ApiProperty({ description: 'More than `keys` holds' }) truncated!: boolean;
}

export class SetPolicyResponseDto extends PolicyResponseDto {
  @ApiProperty({ type: PolicyViolationsResponseDto, description: 'The active keys that break the policy now: reported, not changed' })
  violations!: PolicyViolationsResponseDto;
}
