import type { INestApplication } from '@nestjs/common';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { HttpAdapterHost } from '@nestjs/core';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import type { FastifyInstance } from 'fastify';
import {
  clientErrorHandler,
  createValidationPipe,
  DomainErrorFilter,
  frameworkErrors,
  RequestInputPipe,
  useTransportRules,
} from './common/index.js';
import { TRANSPORT_ERROR_RESPONSES } from './dto/index.js';
import { containsToken } from '@keyledger/nestjs';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The HTTP adapter main.ts and the tests share: bodies over 256 KiB are a 413; a well-formed
 * `x-request-id` is kept (else one is made) and ends up in logs, in event metadata and in the
 * response alike; refusals by the router and by node's HTTP parser use the one error shape.
 */
export function createFastifyAdapter(logger?: Logger, trustProxy = false): FastifyAdapter {
  return new FastifyAdapter({
    bodyLimit: 256 * 1024,
    // Only behind a proxy you control: otherwise any client could choose the IP recorded in events.
    trustProxy,
    frameworkErrors,
    clientErrorHandler,
    ...(logger ? { loggerInstance: logger } : {}),
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const header = req.headers['x-request-id'];
      return typeof header === 'string' && REQUEST_ID.test(header) && !containsToken(header) ? header : randomUUID();
    },
  });
}

/** Everything main.ts and the tests must share: pipes, the error filter, the OpenAPI document. */
export function configureApp(app: INestApplication): INestApplication {
  const adapter = app.get(HttpAdapterHost).httpAdapter as FastifyAdapter;
  useTransportRules(adapter.getInstance<FastifyInstance>());
  // Nest's own JSON parser, which also keeps the body's bytes as `request.rawBody`: a signature
  // (a secret-scanning report's) is over the bytes sent, which no re-serialisation reproduces.
  adapter.useBodyParser('application/json', true, { bodyLimit: adapter.getInstance<FastifyInstance>().initialConfig.bodyLimit });
  app.useGlobalPipes(new RequestInputPipe(), createValidationPipe());
  app.useGlobalFilters(new DomainErrorFilter(app.get(HttpAdapterHost)));
  SwaggerModule.setup('docs', app, createOpenApiDocument(app), { jsonDocumentUrl: 'docs-json', customSiteTitle: 'keyledger API' });
  return app;
}

/**
 * The OpenAPI document served at /docs-json. Reads only the controllers' and DTOs' metadata, so
 * scripts/openapi-types.mjs builds it from an app created with `preview: true` (no database).
 */
export function createOpenApiDocument(app: INestApplication): OpenAPIObject {
  return SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('keyledger')
      .setDescription(
        'Event-sourced API key registry. Authenticate with `Authorization: Bearer <key>` or `x-api-key: <key>`. ' +
          'Every error has the shape `{ statusCode, code, message, details? }`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'keyledger API key (kl_live_…)', description: 'An API key' }, 'bearer')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key' }, 'api-key')
      .addGlobalResponse(...TRANSPORT_ERROR_RESPONSES)
      .build(),
  );
}
