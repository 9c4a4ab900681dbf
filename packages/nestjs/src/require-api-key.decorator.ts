import { createRequire } from 'node:module';
import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from './api-key.guard.js';
import { REQUIRE_API_KEY, type RequireApiKeyOptions } from './require-api-key.metadata.js';

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
  // Made afresh for each target: ApiSecurity's decorator adds to its own list each time it is applied.
  const security = (): MethodDecorator => applyDecorators(swagger.ApiBearerAuth('bearer'), swagger.ApiSecurity('api-key'));
  const documentSecurity = (target: object, key?: string | symbol, descriptor?: PropertyDescriptor): void => {
    if (descriptor !== undefined) {
      security()(target, key!, descriptor);
      return;
    }
    // On a controller: on each route without schemes of its own. A route's own @RequireApiKey (applied
    // before the controller's) has listed them already, and OpenAPI would list class and route's both.
    const prototype = (target as { prototype: object }).prototype;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const method = Object.getOwnPropertyDescriptor(prototype, name)!;
      if (name === 'constructor' || typeof method.value !== 'function') continue;
      if (Reflect.getMetadata(swagger.DECORATORS.API_SECURITY, method.value as object) === undefined) security()(prototype, name, method);
    }
  };
  return [
    documentSecurity,
    swagger.ApiUnauthorizedResponse({ description: 'No key, or a malformed, unknown, expired or revoked key' }),
    swagger.ApiForbiddenResponse({ description: 'The key lacks a required scope' }),
    swagger.ApiServiceUnavailableResponse({
      description: 'This service cannot tell whether the key is still valid (cut off from the registry past its bound): it fails closed',
    }),
  ];
}

/** Protects a route (or a controller) with an API key, optionally requiring scopes. */
export function RequireApiKey(options: RequireApiKeyOptions = {}): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(REQUIRE_API_KEY, { scopes: options.scopes ?? [] }), UseGuards(ApiKeyGuard), ...openApiDecorators());
}
