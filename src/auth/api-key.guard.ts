import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasScopes } from '../token/index.js';
import { InsufficientScopeError, UnauthenticatedError } from './auth.errors.js';
import { PRINCIPAL_PROPERTY } from './current-api-key.decorator.js';
import { KeyVerifier } from './key-verifier.js';
import { REQUIRE_API_KEY, type RequireApiKeyOptions } from './require-api-key.decorator.js';

type Headers = Record<string, string | string[] | undefined>;

/** `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function extractKey(headers: Headers): string | undefined {
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.length > 0) return apiKey.trim();
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.length > 7 && /^bearer /i.test(authorization)) {
    return authorization.slice(7).trim();
  }
  return undefined;
}

@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(
    private readonly verifier: KeyVerifier,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const options = this.reflector.getAllAndOverride<Required<RequireApiKeyOptions> | undefined>(REQUIRE_API_KEY, [
      context.getHandler(),
      context.getClass(),
    ]);
    const request = context.switchToHttp().getRequest<{ headers: Headers } & Record<string, unknown>>();
    const token = extractKey(request.headers);
    if (!token) throw UnauthenticatedError.missing();
    const result = await this.verifier.verify(token);
    if (result.code !== 'VALID') {
      throw UnauthenticatedError.invalid(result.code === 'INSUFFICIENT_SCOPE' ? 'NOT_FOUND' : result.code);
    }
    const required = options?.scopes ?? [];
    if (!hasScopes(result.principal.scopes, required)) throw InsufficientScopeError.missing(required);
    request[PRINCIPAL_PROPERTY] = result.principal;
    return true;
  }
}
