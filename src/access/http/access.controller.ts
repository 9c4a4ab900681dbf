import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { AccessReader, type AccessPage } from '../access-reader.js';
import { AccessSearchRequestDto } from './access-search.request.dto.js';

/** `admin` reads every tenant's access records; `audit:read` those of its own tenant's keys. */
@ApiTags('admin: audit')
@RequireApiKey({ scopes: ['audit:read'] })
@Controller('admin/audit/access')
export class AccessController {
  constructor(private readonly reader: AccessReader) {}

  @Get()
  @ApiOperation({ summary: 'Access records, newest first: refused admin commands and every read of the audit log' })
  search(@Query() q: AccessSearchRequestDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<AccessPage> {
    const { limit, cursor, ...filter } = q;
    return this.reader.search(principal, filter, limit ?? 100, cursor);
  }
}
