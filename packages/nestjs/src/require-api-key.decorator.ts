import { createRequire } from 'node:module';
import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard.js';

export const REQUIRE_API_KEY = 'keyledger:require-api-key';

export interface RequireApiKeyOptions {
  /** Every one of these must be covered by the key's scopes (`admin` covers all). */
  scopes?: string[];
}

/** @nestjs/swagger is an optional peer: where the app has it, protected routes say so in OpenAPI. */
function openApiDecorators(): (ClassDecorator & MethodDecorator)[] {
  let swagger: typeof import('@nestjs/swagger');
  try {
    // An optional peer, so not a static import; loaded synchronously (require(esm), Node ≥ 20.19)
    // because a top-level await would stop CommonJS apps from requiring this package.
    swagger = createRequire(import.meta.url)('@nestjs/swagger') as typeof import('@nestjs/swagger');
  } catch {
    return [];
  }
  return [
    swagger.ApiBearerAuth('bearer'),
    swagger.ApiSecurity('api-key'),
    swagger.ApiUnauthorizedResponse({ description: 'No key, or a malformed, unknown, expired or revoked key' }),
    swagger.ApiForbiddenResponse({ description: 'The key lacks a required scope' }),
  ];
}

/** Protects a route (or a controller) with an API key, optionally requiring scopes. */
export function RequireApiKey(options: RequireApiKeyOptions = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(REQUIRE_API_KEY, { scopes: options.scopes ?? [] }), UseGuards(ApiKeyGuard), ...openApiDecorators());
}
