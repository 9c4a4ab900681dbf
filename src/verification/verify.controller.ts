import { Body, Controller, HttpCode, Inject, Logger, Post, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool } from 'pg';
import { CurrentApiKey, GuardUnavailableError, KeyVerifier, RequireApiKey, type ApiKeyPrincipal } from '@keyledger/nestjs';
import { DomainError } from '../common/index.js';
import { ApiErrorResponses } from '../dto/index.js';
import { PG_POOL } from '../database/index.js';
import { hasScopes, tokenPublicId } from '../token/index.js';
import { FailureLimiter } from './failure-limiter.js';
import { VerifyKeyRequestDto, VerifyKeyResponseDto } from './verify-key.request.dto.js';

export class TooManyFailuresError extends DomainError {
  static create(retryAfterMs: number): TooManyFailuresError {
    return new TooManyFailuresError(
      'rate-limited',
      'VERIFY.TOO_MANY_FAILURES',
      `Too many failed verifications from this caller; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
    );
  }
}

/**
 * Held beside `keys:verify`, it makes a verifier platform-wide: it gets VALID for every tenant's
 * keys. Without it a verifier knows only its own tenant's keys (`admin` covers it too).
 */
export const VERIFY_ALL_TENANTS_SCOPE = 'keys:verify:all-tenants';

/** For services that are not NestJS: verify a key over HTTP, from this instance's memory. */
@ApiTags('verify')
@ApiErrorResponses(401, 403, 503)
@Controller('v1/keys')
export class VerifyController {
  private readonly limiter: FailureLimiter;
  private readonly logger = new Logger('Verification');

  constructor(
    private readonly verifier: KeyVerifier,
    @Inject(PG_POOL) pool: Pool,
  ) {
    this.limiter = new FailureLimiter(pool, 120, 60);
  }

  @Post('verify')
  @HttpCode(200)
  @RequireApiKey({ scopes: ['keys:verify'] })
  @ApiOperation({
    summary:
      'Verify a key (and optionally its scopes). Always 200 with `valid` and a `code`; 429 after 120 failures a minute from one caller. ' +
      "Only the caller's own tenant's keys are VALID (another tenant's key is NOT_FOUND), unless the caller also holds `keys:verify:all-tenants`.",
  })
  @ApiOkResponse({ type: VerifyKeyResponseDto })
  @ApiErrorResponses(400, 413, { status: 429, description: 'Too many failed verifications from this caller (`Retry-After`)' })
  async verify(
    @Body() body: VerifyKeyRequestDto,
    @CurrentApiKey() caller: ApiKeyPrincipal,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<VerifyKeyResponseDto> {
    const wait = this.limiter.retryAfter(caller.keyId);
    if (wait > 0) {
      void reply.header('Retry-After', String(Math.ceil(wait / 1000)));
      throw TooManyFailuresError.create(wait);
    }
    // Another tenant's key answers exactly as an unknown one, unless the caller is platform-wide.
    const onlyTenant = hasScopes(caller.scopes, [VERIFY_ALL_TENANTS_SCOPE]) ? undefined : caller.tenantId;
    // The key checked is used by the caller: its last use records the caller's address and agent.
    const result = await this.verifier.check(body.key, body.scopes, onlyTenant, () => ({
      ip: request.ip,
      userAgent: request.headers['user-agent'],
    }));
    if (result.code === 'UNAVAILABLE') throw GuardUnavailableError.stale(this.verifier.status().staleForMs);
    // Both name the caller and the key checked (publicIds only); a failure is a warning with its reason.
    const record = { event: 'key.verification', actor: caller.publicId, target: tokenPublicId(body.key) ?? null };
    if (result.code !== 'VALID') {
      await this.limiter.recordFailure(caller.keyId);
      this.logger.warn({ msg: 'verification failed', ...record, outcome: 'refused', reason: result.code });
      return { valid: false, code: result.code };
    }
    this.logger.debug({ msg: 'verification succeeded', ...record, outcome: 'ok' });
    const { keyId, publicId, tenantId, scopes, tags, expiresAt } = result.principal;
    return { valid: true, code: 'VALID', keyId, publicId, tenantId, scopes, tags, expiresAt };
  }
}
