import {
  Module,
  type DynamicModule,
  type OnModuleInit,
  type InjectionToken,
  type ModuleMetadata,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, HttpAdapterHost } from '@nestjs/core';
import { API_KEY_AUTH_OPTIONS, KEY_PEPPER, type ApiKeyAuthOptions } from './api-key-auth.options.js';
import { ApiKeyErrorFilter } from './api-key-error.filter.js';
import { ApiKeyGuard } from './api-key.guard.js';
import { PRINCIPAL_PROPERTY } from './current-api-key.decorator.js';
import { KeyVerifier } from './key-verifier.js';

export interface ApiKeyAuthAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  inject?: (InjectionToken | OptionalFactoryDependency)[];
  useFactory: (...args: never[]) => ApiKeyAuthOptions | Promise<ApiKeyAuthOptions>;
  /** Resolved at module-definition time, since it decides which providers exist. */
  guardAllRoutes?: boolean;
}

const pepperProvider: Provider = {
  provide: KEY_PEPPER,
  inject: [API_KEY_AUTH_OPTIONS],
  useFactory: ({ pepper }: ApiKeyAuthOptions) =>
    pepper === undefined || pepper === '' ? undefined : Buffer.isBuffer(pepper) ? pepper : Buffer.from(pepper, 'utf8'),
};

/**
 * The guard, decorators and verifier for any NestJS app (Fastify or Express) whose keys live in a
 * keyledger registry. Global: import it once in the root module; every module can then use
 * @RequireApiKey() and @CurrentApiKey().
 */
@Module({})
export class ApiKeyAuthModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /**
   * On Fastify, every request object is built with the guard's principal property (null) in it,
   * so the guard fills in a field rather than adding one: an added property gives requests a
   * second hidden class, and every Fastify and Nest access to them slows down (measured:
   * docs/performance-log.md, "the guard at 90 %", 2026-12-02). Express requests are Node's own
   * objects and stay as they are.
   */
  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter as HttpAdapterHost['httpAdapter'] | undefined; // none in a CLI context
    if (adapter?.getType() !== 'fastify') return;
    const fastify = adapter.getInstance<{ hasRequestDecorator(name: string): boolean; decorateRequest(name: string, value: null): void }>();
    if (!fastify.hasRequestDecorator(PRINCIPAL_PROPERTY)) fastify.decorateRequest(PRINCIPAL_PROPERTY, null);
  }

  static forRoot(options: ApiKeyAuthOptions): DynamicModule {
    return ApiKeyAuthModule.build([{ provide: API_KEY_AUTH_OPTIONS, useValue: options }], options.guardAllRoutes ?? false);
  }

  static forRootAsync(options: ApiKeyAuthAsyncOptions): DynamicModule {
    return {
      ...ApiKeyAuthModule.build(
        [{ provide: API_KEY_AUTH_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory }],
        options.guardAllRoutes ?? false,
      ),
      imports: options.imports ?? [],
    };
  }

  private static build(optionProviders: Provider[], guardAllRoutes: boolean): DynamicModule {
    return {
      module: ApiKeyAuthModule,
      global: true,
      providers: [
        ...optionProviders,
        pepperProvider,
        KeyVerifier,
        ApiKeyGuard,
        // Without it, an app lacking keyledger's DomainErrorFilter would turn the guard's errors into 500s.
        { provide: APP_FILTER, useClass: ApiKeyErrorFilter },
        ...(guardAllRoutes ? [{ provide: APP_GUARD, useExisting: ApiKeyGuard }] : []),
      ],
      exports: [KeyVerifier, ApiKeyGuard, KEY_PEPPER, API_KEY_AUTH_OPTIONS],
    };
  }
}
