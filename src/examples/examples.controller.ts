import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../dto/index.js';
import { PrincipalResponseDto, ReportsResponseDto } from './examples.response.dto.js';

/** How a sibling module protects its routes: one import, a decorator and a typed principal. */
@ApiTags('examples')
@ApiErrorResponses(401, 403, 503)
@Controller('examples')
export class ExamplesController {
  @Get('whoami')
  @RequireApiKey()
  @ApiOperation({ summary: 'Any valid key: returns the verified principal, with its key-bound tags' })
  @ApiOkResponse({ type: PrincipalResponseDto })
  whoami(@CurrentApiKey() key: ApiKeyPrincipal): ApiKeyPrincipal {
    return key;
  }

  @Get('reports')
  @RequireApiKey({ scopes: ['reports:read'] })
  @ApiOperation({ summary: 'Needs scope reports:read; shows tenant-scoped data using the key-bound tags' })
  @ApiOkResponse({ type: ReportsResponseDto })
  reports(@CurrentApiKey() key: ApiKeyPrincipal): { tenantId: string; tags: Readonly<Record<string, string>>; reports: string[] } {
    return { tenantId: key.tenantId, tags: key.tags, reports: [`${key.tenantId}-monthly`, `${key.tenantId}-usage`] };
  }
}
