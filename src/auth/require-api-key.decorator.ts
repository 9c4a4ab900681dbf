import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiForbiddenResponse, ApiSecurity, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { ApiKeyGuard } from './api-key.guard.js';

export const REQUIRE_API_KEY = 'keyledger:require-api-key';

export interface RequireApiKeyOptions {
  /** Every one of these must be covered by the key's scopes (`admin` covers all). */
  scopes?: string[];
}

/** Protects a route (or a controller) with an API key, optionally requiring scopes. */
export function RequireApiKey(options: RequireApiKeyOptions = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRE_API_KEY, { scopes: options.scopes ?? [] }),
    UseGuards(ApiKeyGuard),
    ApiBearerAuth('bearer'),
    ApiSecurity('api-key'),
    ApiUnauthorizedResponse({ description: 'No key, or a malformed, unknown, expired or revoked key' }),
    ApiForbiddenResponse({ description: 'The key lacks a required scope' }),
  );
}
