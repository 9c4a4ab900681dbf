import { Body, Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { requestInfo } from '../common/index.js';
import { ApiErrorResponses } from '../dto/index.js';
import { ReportLeakCommand, systemActor, type CommandContext, type LeakVerdict } from '../keys/index.js';
import { MAX_REPORTED_TOKENS, ReportBodyPipe } from './report-body.pipe.js';
import { ReportSignatureGuard } from './report-signature.guard.js';
import { ReportedTokenDto, TokenLabelDto } from './reported-token.dto.js';

const SECRET_SCANNING_ACTOR = systemActor('secret-scanning');

/** GitHub's secret-scanning partner endpoint: public, authenticated by GitHub's signature alone. */
@ApiTags('secret scanning')
@Controller('v1/secret-scanning')
export class SecretScanningController {
  constructor(private readonly commands: CommandBus) {}

  @Post('report')
  @HttpCode(200)
  @UseGuards(ReportSignatureGuard)
  @ApiOperation({
    summary:
      "GitHub's secret-scanning partner report (no API key: GitHub's ECDSA signature over the body). Each token of an existing key is a " +
      "`true_positive`, and a key it still opens is revoked at once (reason code `leaked`, the report's `url` as its source); anything else is a `false_positive`. " +
      `The answer says nothing else. At most ${MAX_REPORTED_TOKENS} tokens per report; SECRET_SCANNING_RATE_LIMIT reports a minute per address and instance.`,
  })
  @ApiHeader({ name: 'Github-Public-Key-Identifier', required: true, description: "Which of GitHub's public keys signed the report" })
  @ApiHeader({
    name: 'Github-Public-Key-Signature',
    required: true,
    description: 'Base64 DER ECDSA P-256 SHA-256 signature over the raw body',
  })
  @ApiBody({ type: [ReportedTokenDto] })
  @ApiOkResponse({ type: [TokenLabelDto] })
  @ApiErrorResponses(
    400,
    { status: 401, description: 'The signature headers are missing' },
    { status: 403, description: 'The signature does not verify, its key is unknown, or no keys are configured' },
    413,
    { status: 429, description: 'Too many reports from this address (`Retry-After`)' },
    503,
  )
  async report(@Body(ReportBodyPipe) items: ReportedTokenDto[], @Req() request: FastifyRequest): Promise<TokenLabelDto[]> {
    const ctx: CommandContext = { actor: SECRET_SCANNING_ACTOR, ...requestInfo(request) };
    // One check per distinct token: a report may name the same token at several places.
    const verdicts = new Map<string, Promise<LeakVerdict>>();
    const labels: TokenLabelDto[] = [];
    for (const { token, type, url, source } of items) {
      let verdict = verdicts.get(token);
      if (verdict === undefined) {
        const reason = `found exposed by GitHub secret scanning (${source ?? 'source not given'})`;
        verdict = this.commands.execute(new ReportLeakCommand(token, { reason, ...(url === undefined ? {} : { sourceUrl: url }) }, ctx));
        verdicts.set(token, verdict);
      }
      labels.push({ token_raw: token, token_type: type, label: (await verdict).label });
    }
    return labels;
  }
}
