import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { ApiKeyPrincipal } from './api-key-principal.js';

export const PRINCIPAL_PROPERTY = 'apiKey';

/** The verified key of the request, typed. Only on routes behind @RequireApiKey. */
export const CurrentApiKey = createParamDecorator((_: unknown, ctx: ExecutionContext): ApiKeyPrincipal => {
  const request = ctx.getArgByIndex<Record<string, unknown>>(0); // the request, without switchToHttp()'s three closures per call
  const principal = request[PRINCIPAL_PROPERTY] as ApiKeyPrincipal | undefined;
  if (!principal) throw new Error('@CurrentApiKey() used on a route without @RequireApiKey()');
  return principal;
});
