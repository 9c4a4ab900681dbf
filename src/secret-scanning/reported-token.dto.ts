import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { IsSourceUrl } from '../keys/index.js';

/** One match in a GitHub secret-scanning report. */
export class ReportedTokenDto {
  @ApiProperty({ description: 'The string GitHub found', example: 'kl_live_a1B2c3D4e5F6_…' })
  @IsString()
  @MaxLength(1024)
  token!: string;

  @ApiProperty({ description: 'The pattern name registered with GitHub', example: 'keyledger_api_key' })
  @IsString()
  @MaxLength(128)
  type!: string;

  @ApiPropertyOptional({ description: 'The public URL where it was found', example: 'https://github.com/octocat/app/blob/abc123/.env' })
  @IsOptional()
  @IsSourceUrl()
  url?: string;

  @ApiPropertyOptional({ description: 'Where GitHub found it: content, commit, pull_request, gist, npm, …', example: 'content' })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  source?: string;
}

/** GitHub's answer format, one per reported token, in the report's order. */
export class TokenLabelDto {
  @ApiProperty({ description: 'The reported token, as GitHub sent it' }) token_raw!: string;
  @ApiProperty({ description: 'The reported type, as GitHub sent it' }) token_type!: string;
  @ApiProperty({
    enum: ['true_positive', 'false_positive'],
    description: '`true_positive`: a token of a keyledger key (revoked now if it still worked)',
  })
  label!: 'true_positive' | 'false_positive';
}
