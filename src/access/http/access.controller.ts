import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../../dto/index.js';
import { AccessReader, type AccessPage } from '../access-reader.js';
import { AccessPageResponseDto } from './access-page.response.dto.js';
import { AccessSearchRequestDto } from './access-search.request.dto.js';

/** `admin` reads every tenant's access records; `audit:read` those of its own tenant's keys. */
@ApiTags('admin: audit')
@ApiErrorResponses(400, 401, 403, 503)
@RequireApiKey({ scopes: ['audit:read'] })
@Controller('admin/audit/access')
export class AccessController {
  constructor(private readonly reader: AccessReader) {}

  @Get()
  @ApiOperation({ summary: 'Access records, newest first: refused admin commands and every read of the audit log' })
  @ApiOkResponse({ type: AccessPageResponseDto })
  search(@Query() q: AccessSearchRequestDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<AccessPage> {
    const { limit, cursor, ...filter } = q;
    return this.reader.search(principal, filter, limit ?? 100, cursor);
  }
}
