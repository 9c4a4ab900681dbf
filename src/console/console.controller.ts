import { Controller, Get, Param, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { httpErrorBody } from '../common/index.js';
import { ConsoleAssets, type ConsoleFile } from './console-assets.js';
import { CONSOLE_SECURITY_HEADERS } from './security-headers.js';

const NOT_BUILT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>keyledger console</title>
<h1>The console is not built</h1><p>Run <code>npm run build</code> (or <code>npm start</code>, which builds first).</p></html>`;

/** The codings an Accept-Encoding header allows (a `q=0` refuses one). */
function acceptedEncodings(header: string | undefined): Set<string> {
  const accepted = new Set<string>();
  for (const part of (header ?? '').split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (name && (q === undefined || Number(q.slice(2)) > 0)) accepted.add(name);
  }
  return accepted;
}

/** The best encoding the client accepts among those the build precompressed. */
function pickEncoding(file: ConsoleFile, acceptEncoding: string | undefined): 'br' | 'gzip' | undefined {
  const accepted = acceptedEncodings(acceptEncoding);
  if (file.br && accepted.has('br')) return 'br';
  if (file.gzip && accepted.has('gzip')) return 'gzip';
  return undefined;
}

function send(request: FastifyRequest, reply: FastifyReply, file: ConsoleFile, cacheControl: string): FastifyReply {
  void reply
    .headers(CONSOLE_SECURITY_HEADERS)
    .header('Cache-Control', cacheControl)
    .header('Vary', 'Accept-Encoding')
    .header('ETag', file.etag);
  if (request.headers['if-none-match'] === file.etag) return reply.status(304).send();
  const encoding = pickEncoding(file, request.headers['accept-encoding']);
  void reply.type(file.contentType);
  if (encoding !== undefined) void reply.header('Content-Encoding', encoding);
  return reply.send(encoding === 'br' ? file.br : encoding === 'gzip' ? file.gzip : file.body);
}

/**
 * Serves the single-page console at /console: hashed assets are immutable for a year, every
 * other path under /console is the app shell (index.html, never cached, so a deploy is picked
 * up at once). /console/api/* belongs to the console's JSON endpoints, never to the shell.
 */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  constructor(private readonly assets: ConsoleAssets) {}

  @Get()
  root(@Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    return this.shell(request, reply);
  }

  @Get('assets/:file')
  asset(@Param('file') name: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    const file = this.assets.asset(name);
    if (file === undefined) {
      return reply.status(404).headers(CONSOLE_SECURITY_HEADERS).send(httpErrorBody(404, 'No console asset has that name'));
    }
    return send(request, reply, file, 'public, max-age=31536000, immutable');
  }

  @Get('*')
  page(@Req() request: FastifyRequest, @Res() reply: FastifyReply): FastifyReply {
    if (/^\/console\/api(\/|$)/.test(request.url)) {
      return reply.status(404).send(httpErrorBody(404));
    }
    return this.shell(request, reply);
  }

  private shell(request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const index = this.assets.index();
    if (index === undefined) {
      return reply
        .status(503)
        .headers(CONSOLE_SECURITY_HEADERS)
        .header('Cache-Control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(NOT_BUILT);
    }
    return send(request, reply, index, 'no-store');
  }
}
