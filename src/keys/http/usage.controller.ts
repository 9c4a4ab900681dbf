import { Controller, Get, Query, UseInterceptors } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../../dto/index.js';
import { TenantUsageQuery, type TenantUsage } from '../queries/usage/tenant-usage.query.js';
import { TenantUsageRequestDto } from '../queries/usage/usage.request.dto.js';
import { DEFAULT_USAGE_DAYS } from '../queries/usage/usage-days.js';
import { CommandMetricsInterceptor } from './command-metrics.interceptor.js';
import { actorOf } from './http-context.js';
import { TenantUsageResponseDto } from './key.response.dto.js';

/** Verifications per day over a tenant's keys: the chart on the console's keys page. */
@ApiTags('admin: api keys')
@ApiErrorResponses(400, 401, 403, 503)
@RequireApiKey({ scopes: ['keys:manage'] })
@UseInterceptors(CommandMetricsInterceptor)
@Controller('admin/usage')
export class UsageController {
  constructor(private readonly queries: QueryBus) {}

  @Get()
  @ApiOperation({
    summary: "Verifications per UTC day and outcome over a tenant's keys (a platform admin naming no tenant: every tenant's)",
  })
  @ApiOkResponse({ type: TenantUsageResponseDto })
  tenantUsage(@Query() query: TenantUsageRequestDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<TenantUsage> {
    return this.queries.execute(new TenantUsageQuery(actorOf(principal), query.tenantId, query.days ?? DEFAULT_USAGE_DAYS));
  }
}
