import {
  applyDecorators,
  Body,
  Controller,
  Delete,
  Get,
  Headers,
  HttpCode,
  Param,
  Patch,
  Post,
  Query,
  Req,
  Res,
  UseInterceptors,
} from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiCreatedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { CurrentApiKey, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { ValidationError } from '../../common/index.js';
import { ApiErrorResponses } from '../../dto/index.js';
import { CreateKeyCommand } from '../commands/create-key/create-key.command.js';
import { CreateKeyRequestDto } from '../commands/create-key/create-key.request.dto.js';
import { ExpireKeyCommand } from '../commands/expire-key/expire-key.command.js';
import { ReportLeakCommand, type LeakVerdict } from '../commands/report-leak/report-leak.command.js';
import { ReportLeakRequestDto, ReportLeakResponseDto } from '../commands/report-leak/report-leak.request.dto.js';
import { ExpireKeyRequestDto } from '../commands/expire-key/expire-key.request.dto.js';
import { RevokeKeyCommand } from '../commands/revoke-key/revoke-key.command.js';
import { RevokeKeyRequestDto } from '../commands/revoke-key/revoke-key.request.dto.js';
import { RotateKeyCommand } from '../commands/rotate-key/rotate-key.command.js';
import { RotateKeyRequestDto } from '../commands/rotate-key/rotate-key.request.dto.js';
import { UpdateKeyCommand } from '../commands/update-key/update-key.command.js';
import { UpdateKeyRequestDto } from '../commands/update-key/update-key.request.dto.js';
import type { RevokeDetails } from '../domain/api-key.aggregate.js';
import type { KeyView } from '../key-view.js';
import { GetKeyQuery } from '../queries/get-key/get-key.query.js';
import { KeyHistoryQuery, type KeyHistoryPage } from '../queries/key-history/key-history.query.js';
import { KeyHistoryRequestDto } from '../queries/key-history/key-history.request.dto.js';
import { ListKeysQuery, type KeyPage } from '../queries/list-keys/list-keys.query.js';
import { ListKeysRequestDto } from '../queries/list-keys/list-keys.request.dto.js';
import { AsOfRequestDto } from '../queries/keys-as-of/as-of.request.dto.js';
import { KeyAsOfQuery, KeysActiveAtQuery } from '../queries/keys-as-of/keys-as-of.query.js';
import { CommandMetricsInterceptor } from './command-metrics.interceptor.js';
import { actorOf, commandContext, parseIfMatch, toDate } from './http-context.js';
import { KeyUsageQuery, type KeyUsage } from '../queries/usage/key-usage.query.js';
import { KeyUsageRequestDto } from '../queries/usage/usage.request.dto.js';
import { DEFAULT_USAGE_DAYS } from '../queries/usage/usage-days.js';
import {
  KeyHistoryPageResponseDto,
  KeyListResponseDto,
  KeyResponseDto,
  KeyUsageResponseDto,
  KeyWithSecretResponseDto,
} from './key.response.dto.js';

const DAY_MS = 86_400_000;
const POLICY_VIOLATION = {
  status: 422,
  description: "POLICY.VIOLATION: the key as changed breaks its tenant's policy (`details` name the rule and its limit)",
} as const;

/** A route on one key: `:id` is its keyId or publicId; no such key (or another tenant's) is a 404. */
const KeyIdParam = (): MethodDecorator =>
  applyDecorators(ApiParam({ name: 'id', description: 'The keyId (UUID) or the publicId' }), ApiErrorResponses(404, 414));

function withEtag(reply: FastifyReply, view: KeyView): KeyView {
  void reply.header('ETag', `"${view.version}"`);
  return view;
}

@ApiTags('admin: api keys')
@ApiErrorResponses(400, 401, 403, 503)
@RequireApiKey({ scopes: ['keys:manage'] })
@UseInterceptors(CommandMetricsInterceptor)
@Controller('admin/api-keys')
export class ApiKeysController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @ApiOperation({ summary: 'Issue a key. The plaintext `key` is in this response only.' })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A retry with the same value returns the first key (with `key: null`), never a second key',
  })
  @ApiCreatedResponse({ type: KeyWithSecretResponseDto })
  @ApiOkResponse({ type: KeyWithSecretResponseDto, description: 'Idempotent replay: the first key, `key: null`' })
  @ApiErrorResponses({ status: 409, description: 'A concurrent request with the same Idempotency-Key won; retry it' }, 413, {
    status: 422,
    description: "Idempotency-Key reused for a different request, or POLICY.VIOLATION: the key breaks its tenant's policy",
  })
  async create(
    @Body() body: CreateKeyRequestDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView & { key: string | null }> {
    if (body.expiresAt !== undefined && body.expiresInDays !== undefined) {
      throw ValidationError.of([
        { field: 'expiresAt', message: 'give expiresAt or expiresInDays, not both' },
        { field: 'expiresInDays', message: 'give expiresAt or expiresInDays, not both' },
      ]);
    }
    if (idempotencyKey !== undefined && !/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
      throw ValidationError.field('Idempotency-Key', 'must be 1–255 visible ASCII characters');
    }
    const expiresAt = body.expiresInDays !== undefined ? new Date(Date.now() + body.expiresInDays * DAY_MS) : toDate(body.expiresAt);
    const created = await this.commands.execute(
      new CreateKeyCommand(
        { tenantId: body.tenantId, name: body.name, scopes: body.scopes, tags: body.tags, expiresAt },
        commandContext(principal, request),
        idempotencyKey,
      ),
    );
    void reply.status(created.replayed ? 200 : 201);
    if (created.replayed) void reply.header('Idempotent-Replayed', 'true');
    return { ...withEtag(reply, created.view), key: created.token };
  }

  @Get()
  @ApiOperation({ summary: 'List keys, newest first (active only unless status says otherwise)' })
  @ApiOkResponse({ type: KeyListResponseDto })
  list(@Query() query: ListKeysRequestDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<KeyPage> {
    if (query.activeAt !== undefined) {
      if (query.unusedSince !== undefined || query.sort !== undefined) {
        throw ValidationError.field(
          query.sort !== undefined ? 'sort' : 'unusedSince',
          'applies to the keys as they are now: not with activeAt',
        );
      }
      return this.queries.execute(
        new KeysActiveAtQuery(actorOf(principal), new Date(query.activeAt), {
          tenantId: query.tenantId,
          limit: query.limit ?? 50,
          cursor: query.cursor,
        }),
      );
    }
    return this.queries.execute(
      new ListKeysQuery(actorOf(principal), {
        tenantId: query.tenantId,
        status: query.status ?? 'active',
        limit: query.limit ?? 50,
        cursor: query.cursor,
        sort: query.sort ?? 'createdAt',
        unusedSince: toDate(query.unusedSince),
      }),
    );
  }

  @Get(':id')
  @ApiOperation({ summary: 'One key' })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyResponseDto })
  @ApiQuery({ name: 'asOf', required: false, description: 'ISO 8601: the key as it was at that instant, replayed from its events' })
  async get(
    @Param('id') id: string,
    @Query() query: AsOfRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView> {
    if (query.asOf !== undefined) return this.queries.execute(new KeyAsOfQuery(actorOf(principal), id, new Date(query.asOf)));
    return withEtag(reply, await this.queries.execute(new GetKeyQuery(actorOf(principal), id)));
  }

  @Get(':id/usage')
  @ApiOperation({ summary: "The key's verifications per UTC day and outcome (valid, or the refusal), the last `days` days" })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyUsageResponseDto })
  usage(@Param('id') id: string, @Query() query: KeyUsageRequestDto, @CurrentApiKey() principal: ApiKeyPrincipal): Promise<KeyUsage> {
    return this.queries.execute(new KeyUsageQuery(actorOf(principal), id, query.days ?? DEFAULT_USAGE_DAYS));
  }

  @Patch(':id')
  @ApiOperation({ summary: 'Change name, scopes, tags or expiry' })
  @KeyIdParam()
  @ApiHeader({ name: 'If-Match', required: false, description: 'The ETag you read; a mismatch is a 412' })
  @ApiOkResponse({ type: KeyResponseDto })
  @ApiErrorResponses(409, 412, 413, POLICY_VIOLATION)
  async update(
    @Param('id') id: string,
    @Body() body: UpdateKeyRequestDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView> {
    const view = await this.commands.execute(
      new UpdateKeyCommand(
        id,
        { name: body.name, scopes: body.scopes, tags: body.tags, expiresAt: toDate(body.expiresAt) },
        commandContext(principal, request),
        parseIfMatch(ifMatch),
      ),
    );
    return withEtag(reply, view);
  }

  @Post(':id/rotate')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Roll the secret; the previous one keeps working for gracePeriodSeconds. The new `key` is in this response only.',
  })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyWithSecretResponseDto })
  @ApiErrorResponses(409, 413, POLICY_VIOLATION)
  async rotate(
    @Param('id') id: string,
    @Body() body: RotateKeyRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView & { key: string }> {
    const rotated = await this.commands.execute(
      new RotateKeyCommand(
        id,
        { gracePeriodSeconds: body.gracePeriodSeconds, expiresAt: toDate(body.expiresAt) },
        commandContext(principal, request),
      ),
    );
    return { ...withEtag(reply, rotated.view), key: rotated.token };
  }

  @Post(':id/expire')
  @HttpCode(200)
  @ApiOperation({ summary: 'Expire the key now; the record stays' })
  @ApiBody({ type: ExpireKeyRequestDto, required: false })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyResponseDto })
  @ApiErrorResponses(409, 413)
  async expire(
    @Param('id') id: string,
    @Body() body: ExpireKeyRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView> {
    return withEtag(
      reply,
      await this.commands.execute(new ExpireKeyCommand(id, 'manual', commandContext(principal, request), body.reasonCode)),
    );
  }

  @Post(':id/revoke')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke the key' })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyResponseDto })
  @ApiErrorResponses(409, 413)
  revoke(
    @Param('id') id: string,
    @Body() body: RevokeKeyRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView> {
    return this.revokeKey(id, body.reason ?? null, { reasonCode: body.reasonCode }, principal, request, reply);
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Revoke the key (same as POST :id/revoke without a reason: code `other`)' })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyResponseDto })
  @ApiErrorResponses(409, 413)
  remove(
    @Param('id') id: string,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KeyView> {
    return this.revokeKey(id, null, {}, principal, request, reply);
  }

  @Post('report-leak')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Report a key found exposed (pasted in a chat, a ticket, a repository): a key it still opens is revoked at once with reason code `leaked`. ' +
      "Only keys you manage count: another tenant's key is a `false_positive`, like a token that is no key. The token is never echoed.",
  })
  @ApiOkResponse({ type: ReportLeakResponseDto })
  @ApiErrorResponses(413)
  reportLeak(
    @Body() body: ReportLeakRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
  ): Promise<LeakVerdict> {
    const source = {
      reason: 'reported leaked through the admin API',
      ...(body.sourceUrl === undefined ? {} : { sourceUrl: body.sourceUrl }),
    };
    return this.commands.execute(new ReportLeakCommand(body.token, source, commandContext(principal, request)));
  }

  @Get(':id/events')
  @ApiOperation({
    summary:
      "The key's history, oldest first unless order=desc: every event with its actor, time and what changed (`{from, to}` as in the audit log; hashes never shown)",
  })
  @KeyIdParam()
  @ApiOkResponse({ type: KeyHistoryPageResponseDto })
  events(
    @Param('id') id: string,
    @Query() query: KeyHistoryRequestDto,
    @CurrentApiKey() principal: ApiKeyPrincipal,
  ): Promise<KeyHistoryPage> {
    return this.queries.execute(
      new KeyHistoryQuery(actorOf(principal), id, { order: query.order ?? 'asc', limit: query.limit ?? 100, cursor: query.cursor }),
    );
  }

  private async revokeKey(
    id: string,
    reason: string | null,
    details: RevokeDetails,
    principal: ApiKeyPrincipal,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<KeyView> {
    return withEtag(reply, await this.commands.execute(new RevokeKeyCommand(id, reason, commandContext(principal, request), details)));
  }
}
