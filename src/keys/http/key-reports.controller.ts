import { Controller, Get, Headers, Query, StreamableFile } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../../dto/index.js';
import { keyReportText, type KeyReportFormat } from '../queries/key-report/key-report-format.js';
import { KeyReportRequestDto } from '../queries/key-report/key-report.request.dto.js';
import { KeyReport } from '../queries/key-report/key-report.js';
import { actorOf } from './http-context.js';

const DOWNLOADS: Record<KeyReportFormat, string> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** Reports over the keys; `admin` reads every tenant, a tenant's manager its own. */
@ApiTags('admin: reports')
@ApiErrorResponses(400, 401, 403, 503)
@RequireApiKey({ scopes: ['keys:manage'] })
@Controller('admin/reports')
export class KeyReportsController {
  constructor(private readonly report: KeyReport) {}

  @Get('keys')
  @ApiOperation({
    summary:
      'The key inventory: one line per key (tenant, name, scopes, created and by whom, last rotated, last used, expiry, status, reason code, secret age), streamed as NDJSON or CSV',
  })
  @ApiHeader({ name: 'Accept', required: false, description: '`text/csv` for CSV when `format` is not given' })
  @ApiOkResponse({
    description: 'A download (`Content-Disposition: attachment`): one JSON object per line, or CSV with a header row',
    content: { 'application/x-ndjson': { schema: { type: 'string' } }, 'text/csv': { schema: { type: 'string' } } },
  })
  keys(
    @Query() q: KeyReportRequestDto,
    @Headers('accept') accept: string | undefined,
    @CurrentApiKey() principal: ApiKeyPrincipal,
  ): StreamableFile {
    const format: KeyReportFormat = q.format ?? (/\btext\/csv\b/i.test(accept ?? '') ? 'csv' : 'ndjson');
    // open() refuses a bad asOf or another tenant before the response starts.
    const run = this.report.open(
      actorOf(principal),
      { tenantId: q.tenantId, status: q.status, secretOlderThanDays: q.secretOlderThanDays, unusedForDays: q.unusedForDays },
      q.asOf === undefined ? undefined : new Date(q.asOf),
    );
    const stamp = run.at.toISOString().replace(/[:.]/g, '-');
    return new StreamableFile(Readable.from(keyReportText(format, run.pages())), {
      type: DOWNLOADS[format],
      disposition: `attachment; filename="keyledger-keys-${stamp}.${format}"`,
    });
  }
}
