import { applyDecorators, Body, Controller, Get, Headers, Param, Put, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../../dto/index.js';
import { SetPolicyCommand } from '../commands/set-policy/set-policy.command.js';
import { SetPolicyRequestDto } from '../commands/set-policy/set-policy.request.dto.js';
import type { PolicyView } from '../policy/policy-view.js';
import { GetPolicyQuery } from '../queries/get-policy/get-policy.query.js';
import { PolicyViolationsQuery, type PolicyViolations } from '../queries/policy-violations/policy-violations.query.js';
import { actorOf, commandContext, parseIfMatch } from './http-context.js';
import { PolicyResponseDto, PolicyViolationsResponseDto, SetPolicyResponseDto } from './policy.response.dto.js';

type SetPolicyResult = PolicyView & { violations: PolicyViolations };

/** A `PUT` of either level: the same header, answer and refusals. */
function PutPolicy(path: string, summary: string): MethodDecorator {
  return applyDecorators(
    Put(path),
    ApiOperation({ summary }),
    ApiHeader({ name: 'If-Match', required: false, description: 'The ETag you read; a mismatch is a 412' }),
    ApiOkResponse({ type: SetPolicyResponseDto }),
    ApiErrorResponses(409, 412, 413),
  );
}

/**
 * Key policies: the platform default (`/admin/policy`) and each tenant's (`/admin/tenants/:tenantId/policy`).
 * Reading is for key managers (a tenant's own, or any for admin); setting is for admins only.
 */
@ApiTags('admin: key policy')
@ApiErrorResponses(400, 401, 403, 503)
@RequireApiKey({ scopes: ['keys:manage'] })
@Controller('admin')
export class PolicyController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Get('policy')
  @ApiOperation({ summary: 'The platform-wide default key policy' })
  @ApiOkResponse({ type: PolicyResponseDto })
  getPlatform(@CurrentApiKey() principal: ApiKeyPrincipal, @Res({ passthrough: true }) reply: FastifyReply): Promise<PolicyView> {
    return this.get(null, principal, reply);
  }

  @PutPolicy(
    'policy',
    'Replace the platform default (admin only); the response lists the active keys that now break it (reported, not changed)',
  )
  setPlatform(
    @Body() body: SetPolicyRequestDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SetPolicyResult> {
    return this.set(null, body, ifMatch, principal, request, reply);
  }

  @Get('policy/violations')
  @ApiOperation({ summary: "Active keys that break their tenant's effective policy, in every tenant (admin) or your own" })
  @ApiOkResponse({ type: PolicyViolationsResponseDto })
  violationsPlatform(@CurrentApiKey() principal: ApiKeyPrincipal): Promise<PolicyViolations> {
    return this.queries.execute(new PolicyViolationsQuery(actorOf(principal), null));
  }

  @Get('tenants/:tenantId/policy')
  @ApiOperation({ summary: "A tenant's key policy, and the effective policy with where each value comes from" })
  @ApiParam({ name: 'tenantId' })
  @ApiOkResponse({ type: PolicyResponseDto })
  getTenant(
    @Param('tenantId') tenantId: string,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PolicyView> {
    return this.get(tenantId, principal, reply);
  }

  @PutPolicy(
    'tenants/:tenantId/policy',
    "Replace a tenant's policy (admin only); the response lists the tenant's keys that now break it (reported, not changed)",
  )
  @ApiParam({ name: 'tenantId' })
  setTenant(
    @Param('tenantId') tenantId: string,
    @Body() body: SetPolicyRequestDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SetPolicyResult> {
    return this.set(tenantId, body, ifMatch, principal, request, reply);
  }

  @Get('tenants/:tenantId/policy/violations')
  @ApiOperation({ summary: "The tenant's active keys that break its effective policy (reported, not changed)" })
  @ApiOkResponse({ type: PolicyViolationsResponseDto })
  @ApiParam({ name: 'tenantId' })
  violationsTenant(@Param('tenantId') tenantId: string, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<PolicyViolations> {
    return this.queries.execute(new PolicyViolationsQuery(actorOf(principal), tenantId));
  }

  private async get(tenantId: string | null, principal: ApiKeyPrincipal, reply: FastifyReply): Promise<PolicyView> {
    const view = await this.queries.execute(new GetPolicyQuery(actorOf(principal), tenantId));
    void reply.header('ETag', `"${view.version}"`);
    return view;
  }

  private async set(
    tenantId: string | null,
    body: SetPolicyRequestDto,
    ifMatch: string | undefined,
    principal: ApiKeyPrincipal,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<SetPolicyResult> {
    const view = await this.commands.execute(
      new SetPolicyCommand(tenantId, { ...body }, commandContext(principal, request), parseIfMatch(ifMatch)),
    );
    void reply.header('ETag', `"${view.version}"`);
    return { ...view, violations: await this.queries.execute(new PolicyViolationsQuery(actorOf(principal), tenantId)) };
  }
}
