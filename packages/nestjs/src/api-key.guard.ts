import { Inject, Injectable, Logger, Optional, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { hasScopes } from './scopes.js';
import { tokenPublicId } from './token.js';
import { refusalLogRecord, type AccessRefusal } from './access-refusal.js';
import { API_KEY_AUTH_OPTIONS, type ApiKeyAuthOptions } from './api-key-auth.options.js';
import type { ApiKeyPrincipal, VerificationResult } from './api-key-principal.js';
import { GuardUnavailableError, InsufficientScopeError, UnauthenticatedError } from './auth.errors.js';
import { PRINCIPAL_PROPERTY } from './current-api-key.decorator.js';
import { KeyVerifier, type RequestClient } from './key-verifier.js';
import { IS_PUBLIC } from './public.decorator.js';
import { REQUIRE_API_KEY, type RequireApiKeyOptions } from './require-api-key.metadata.js';

type Headers = Record<string, string | string[] | undefined>;

interface RouteOptions {
  isPublic: boolean;
  required: readonly string[];
}

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

/**
 * The client's address (Fastify's and Express's `ip`, which honour their trust-proxy settings, else
 * the socket's) and user agent.
 */
function clientOf(request: Request): RequestClient {
  const ip = request.ip ?? (request.socket as { remoteAddress?: string } | undefined)?.remoteAddress;
  const agent = request.headers['user-agent'];
  return { ip: typeof ip === 'string' ? ip : undefined, userAgent: typeof agent === 'string' ? agent : undefined };
}

/** Verifies the request's key from the in-memory replica (no database round trip) and checks scopes. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  /** A route's decorators, read once per controller and handler: metadata lookups cost more than the rest of the check. */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteOptions>>();
  private readonly logger = new Logger('Access');

  constructor(
    private readonly verifier: KeyVerifier,
    private readonly reflector: Reflector,
    // Absent where no ApiKeyAuthModule is (the CLI builds the admin controllers but runs no guard).
    @Optional() @Inject(API_KEY_AUTH_OPTIONS) private readonly options?: ApiKeyAuthOptions,
  ) {}

  private routeOptions(context: ExecutionContext): RouteOptions {
    const handler = context.getHandler();
    const controller = context.getClass();
    let byHandler = this.routes.get(controller);
    if (byHandler === undefined) this.routes.set(controller, (byHandler = new WeakMap()));
    let route = byHandler.get(handler);
    if (route === undefined) {
      const targets = [handler, controller];
      const options = this.reflector.getAllAndOverride<Required<RequireApiKeyOptions> | undefined>(REQUIRE_API_KEY, targets);
      const isPublic = options === undefined && this.reflector.getAllAndOverride<boolean | undefined>(IS_PUBLIC, targets) === true;
      route = { isPublic, required: options?.scopes ?? [] };
      byHandler.set(handler, route);
    }
    return route;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const { isPublic, required } = this.routeOptions(context);
    if (isPublic) return true;
    // getArgByIndex(0) is the request: switchToHttp() would add three closures to the context per call.
    const request = context.getArgByIndex<Request>(0);
    // With guardAllRoutes, a route that also has @RequireApiKey meets this guard twice: verify once.
    const verified = request[PRINCIPAL_PROPERTY] as ApiKeyPrincipal | null | undefined;
    if (verified != null) {
      if (!hasScopes(verified.scopes, required)) {
        return this.refuse(request, InsufficientScopeError.missing(required), verified.publicId, verified);
      }
      return true;
    }
    const token = extractKey(request.headers);
    if (!token) return this.refuse(request, UnauthenticatedError.missing(), null, null);
    // From memory; a promise only when a well-formed key the replica does not know is looked up.
    // The client is read only once the token proved to be a known key's: a made-up key costs no address lookup.
    const result = this.verifier.check(token, required, undefined, () => clientOf(request));
    return result instanceof Promise
      ? result.then((r) => this.admit(request, token, r, required))
      : this.admit(request, token, result, required);
  }

  private admit(request: Request, token: string, result: VerificationResult, required: readonly string[]): true | Promise<never> {
    switch (result.code) {
      case 'VALID':
        request[PRINCIPAL_PROPERTY] = result.principal;
        return true;
      case 'INSUFFICIENT_SCOPE':
        return this.refuse(request, InsufficientScopeError.missing(required), result.principal.publicId, result.principal);
      case 'MALFORMED':
      case 'NOT_FOUND':
      case 'EXPIRED':
      case 'REVOKED':
        return this.refuse(request, UnauthenticatedError.invalid(result.code), tokenPublicId(token) ?? null, null);
      case 'UNAVAILABLE': // the replica cannot know (cut off past maxStalenessMs): fail closed, 503
        throw GuardUnavailableError.stale(this.verifier.status().staleForMs);
    }
  }

  /** Every refusal leaves a log line (publicId only, never the secret) and is reported to onRefused. */
  private refuse(
    request: object,
    error: UnauthenticatedError | InsufficientScopeError,
    publicId: string | null,
    principal: ApiKeyPrincipal | null,
  ): Promise<never> {
    const status = error instanceof InsufficientScopeError ? 403 : 401;
    this.logger.warn(refusalLogRecord(request, status, error.code, publicId));
    const refusal: AccessRefusal = { status, reason: error.code, publicId, principal };
    return Promise.resolve(this.options?.onRefused?.(refusal, request)).then(() => {
      throw error;
    });
  }
}

type Request = { headers: Headers } & Record<string, unknown>;
