import { type KeyObject, verify } from 'node:crypto';
import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import { APP_CONFIG, type AppConfig } from '../config/index.js';
import { SecretScanningKeys } from './secret-scanning-keys.js';
import { ReportSignatureError, TooManyReportsError } from './secret-scanning.errors.js';

const BASE64 = /^[A-Za-z0-9+/]{1,512}={0,2}$/;

/**
 * Before the body is validated or anything is read: the caller's address within its rate, then
 * GitHub's ECDSA P-256 / SHA-256 signature (DER, base64) over the body's exact bytes, by the key
 * the identifier header names. The limit is per instance and in memory: an unauthenticated caller
 * must not be able to make the database write.
 */
@Injectable()
export class ReportSignatureGuard implements CanActivate {
  private readonly limiter: RateLimiterMemory;

  constructor(
    private readonly keys: SecretScanningKeys,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limiter = new RateLimiterMemory({ keyPrefix: 'secret-scanning', points: config.secretScanningRateLimit, duration: 60 });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & { rawBody?: Buffer }>();
    await this.admit(request.ip, http.getResponse<FastifyReply>());
    const identifier = request.headers['github-public-key-identifier'];
    const signature = request.headers['github-public-key-signature'];
    if (typeof identifier !== 'string' || typeof signature !== 'string' || identifier === '' || signature === '') {
      throw ReportSignatureError.missing();
    }
    if (!this.keys.configured) throw ReportSignatureError.notConfigured();
    const key = await this.keys.get(identifier);
    if (key === undefined) throw ReportSignatureError.unknownKey();
    if (!BASE64.test(signature) || !verifies(request.rawBody ?? Buffer.alloc(0), key, Buffer.from(signature, 'base64'))) {
      throw ReportSignatureError.invalid();
    }
    return true;
  }

  private async admit(ip: string, reply: FastifyReply): Promise<void> {
    try {
      await this.limiter.consume(ip);
    } catch (error) {
      if (!(error instanceof RateLimiterRes)) throw error;
      void reply.header('Retry-After', String(Math.ceil(error.msBeforeNext / 1000)));
      throw TooManyReportsError.create(error.msBeforeNext);
    }
  }
}

function verifies(body: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify('sha256', body, { key, dsaEncoding: 'der' }, signature);
  } catch {
    return false; // a signature that is not DER at all
  }
}
