import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ErrorBody, FieldError } from '../common/index.js';

export class FieldErrorDto implements FieldError {
  @ApiProperty({ example: 'name' }) field!: string;
  @ApiProperty({ example: 'must be 1–128 characters after trimming' }) message!: string;
}

/** The one error shape (DomainErrorFilter, http-transport.ts): every 4xx and 5xx the API sends. */
export class ErrorResponseDto implements ErrorBody {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'VALIDATION', description: 'Stable; see docs/api.md' }) code!: string;
  @ApiProperty({ example: 'name: must be 1–128 characters after trimming' }) message!: string;
  @ApiPropertyOptional({ type: [FieldErrorDto], description: 'On a 400 for bad input: one entry per field' }) details?: FieldErrorDto[];
}
