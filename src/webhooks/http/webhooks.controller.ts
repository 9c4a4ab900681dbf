import { Body, Controller, Delete, Get, Headers, Param, Patch, Post, Query, Req, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ApiErrorResponses } from '../../dto/index.js';
import { actorOf, commandContext as context, parseIfMatch } from '../../keys/index.js';
import { WebhookEndpoints, type DeliveryView, type WebhookEndpointView } from '../webhook-endpoints.js';
import { CreateWebhookRequestDto, DeliveriesRequestDto, ListWebhooksRequestDto, UpdateWebhookRequestDto } from './webhook.request.dto.js';
import {
  DeliveryPageResponseDto,
  DeliveryResponseDto,
  WebhookDeletedResponseDto,
  WebhookListResponseDto,
  WebhookResponseDto,
  WebhookWithSecretResponseDto,
} from './webhook.response.dto.js';

/** The endpoint's stream version is its ETag, which PATCH takes as If-Match. */
function withEtag<T extends WebhookEndpointView>(reply: FastifyReply, view: T): T {
  void reply.header('ETag', `"${view.version}"`);
  return view;
}

@ApiTags('admin: webhooks')
@ApiErrorResponses(400, 401, 403, 503)
@RequireApiKey({ scopes: ['webhooks:manage'] })
@Controller('admin/webhooks')
export class WebhooksController {
  constructor(private readonly endpoints: WebhookEndpoints) {}

  @Post()
  @ApiOperation({ summary: 'Add an endpoint. Its signing secret (`whsec_…`) is in this response only.' })
  @ApiCreatedResponse({ type: WebhookWithSecretResponseDto })
  @ApiErrorResponses(413)
  async create(
    @Body() body: CreateWebhookRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookEndpointView & { secret: string }> {
    return withEtag(reply, await this.endpoints.create(body, context(principal, request)));
  }

  @Get()
  @ApiOperation({ summary: 'The endpoints the caller may see' })
  @ApiOkResponse({ type: WebhookListResponseDto })
  async list(
    @Query() query: ListWebhooksRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
  ): Promise<{ items: WebhookEndpointView[] }> {
    return { items: await this.endpoints.list(actorOf(principal), query.tenantId) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One endpoint (never its secret)' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiErrorResponses(404, 414)
  async get(
    @Param('id') id: string,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookEndpointView> {
    return withEtag(reply, await this.endpoints.get(id, actorOf(principal)));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change the URL, the event types, or enable/disable' })
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag you read; a mismatch is a 412' })
  @ApiOkResponse({ type: WebhookResponseDto })
  @ApiErrorResponses(404, 409, 412, 413, 414)
  async update(
    @Param('id') id: string,
    @Body() body: UpdateWebhookRequestDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WebhookEndpointView> {
    return withEtag(reply, await this.endpoints.update(id, body, context(principal, request), parseIfMatch(ifMatch)));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete an endpoint: nothing more is delivered to it' })
  @ApiOkResponse({ type: WebhookDeletedResponseDto })
  @ApiErrorResponses(404, 409, 414)
  async delete(
    @Param('id') id: string,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
  ): Promise<{ id: string; deleted: true }> {
    await this.endpoints.delete(id, context(principal, request));
    return { id, deleted: true };
  }

  @Get(':id/deliveries')
  @ApiOperation({ summary: "The endpoint's delivery log, newest first" })
  @ApiOkResponse({ type: DeliveryPageResponseDto })
  @ApiErrorResponses(404, 414)
  deliveries(
    @Param('id') id: string,
    @Query() query: DeliveriesRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
  ): Promise<{ items: DeliveryView[]; nextBefore: number | null }> {
    return this.endpoints.deliveries(id, actorOf(principal), query.limit ?? 50, query.before);
  }

  @Post(':id/deliveries/:deliveryId/redeliver')
  @ApiOperation({ summary: 'Send a delivery again (a new delivery, same message id)' })
  @ApiCreatedResponse({ type: DeliveryResponseDto })
  @ApiErrorResponses(404, 414)
  redeliver(
    @Param('id') id: string,
    @Param('deliveryId') deliveryId: string,
    @CurrentApiKey() principal: ApiKeyPrincipal,
  ): Promise<DeliveryView> {
    return this.endpoints.redeliver(id, deliveryId, actorOf(principal));
  }
}
