import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { AuditDigest } from '../queries/audit-reader.js';
import type { ChainMismatch, VerifyResult } from '../queries/chain-verifier.js';

export class AuditDigestResponseDto implements AuditDigest {
  @ApiProperty({ description: 'Global position of the last event in the chain (0: empty)' }) position!: number;
  @ApiProperty({ description: 'How many events the chain covers' }) events!: number;
  @ApiProperty({ description: 'Hex SHA-256 head of the chain' }) chainHash!: string;
  @ApiProperty({ format: 'date-time' }) at!: string;
  @ApiProperty({ description: '`<position>:<chainHash>`: store it outside the system, pass it to /admin/audit/verify?fromDigest=' })
  digest!: string;
}

class ChainMismatchDto implements ChainMismatch {
  @ApiProperty() position!: number;
  @ApiProperty() reason!: string;
}

class DigestCheckDto {
  @ApiProperty() position!: number;
  @ApiProperty() chainHash!: string;
  @ApiProperty({ description: 'Whether the chain recomputed from the events passes through this digest' }) matches!: boolean;
}

export class AuditVerifyResponseDto implements VerifyResult {
  @ApiProperty() ok!: boolean;
  @ApiProperty() checkedEvents!: number;
  @ApiProperty() headPosition!: number;
  @ApiProperty() chainHash!: string;
  @ApiPropertyOptional({ type: ChainMismatchDto }) firstMismatch?: ChainMismatchDto;
  @ApiPropertyOptional({ type: DigestCheckDto, description: 'Only with ?fromDigest=' }) digest?: DigestCheckDto;
}
