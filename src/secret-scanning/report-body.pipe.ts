import { Injectable, type PipeTransform } from '@nestjs/common';
import { createValidationPipe, type FieldError, ValidationError } from '../common/index.js';
import { ReportedTokenDto } from './reported-token.dto.js';

export const MAX_REPORTED_TOKENS = 1000;

/** The report is a bare JSON array, which the global pipe leaves alone: each item is validated as a DTO, with `[i].` in its field names. */
@Injectable()
export class ReportBodyPipe implements PipeTransform<unknown, Promise<ReportedTokenDto[]>> {
  private readonly items = createValidationPipe();

  async transform(body: unknown): Promise<ReportedTokenDto[]> {
    if (!Array.isArray(body)) throw ValidationError.field('body', 'must be a JSON array of {token, type, url, source}');
    if (body.length > MAX_REPORTED_TOKENS) {
      throw ValidationError.field('body', `must hold at most ${MAX_REPORTED_TOKENS} tokens; send more in several reports`);
    }
    const details: FieldError[] = [];
    const items: ReportedTokenDto[] = [];
    for (const [i, item] of body.entries()) {
      if (typeof item !== 'object' || item === null || Array.isArray(item)) {
        details.push({ field: `[${i}]`, message: 'must be an object {token, type, url, source}' });
        continue;
      }
      try {
        items.push((await this.items.transform(item, { type: 'body', metatype: ReportedTokenDto })) as ReportedTokenDto);
      } catch (error) {
        if (!(error instanceof ValidationError)) throw error;
        details.push(...(error.details ?? []).map((d) => ({ field: `[${i}].${d.field}`, message: d.message })));
      }
    }
    if (details.length > 0) throw ValidationError.of(details);
    return items;
  }
}
