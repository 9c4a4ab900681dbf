import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpErrorBody } from './domain-error.filter.js';

/**
 * Sent with every response, errors included: no MIME sniffing, nothing cached (create and rotate
 * responses carry a secret, and every admin answer is for one caller), and the request id the logs
 * and event metadata carry, so a caller can quote it. A route that wants caching (the console's
 * assets) sets its own Cache-Control.
 */
export const TRANSPORT_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-store',
});

/** The one body type the API reads. Fastify's default JSON parser decodes UTF-8 only. */
const JSON_MEDIA_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

function hasBody(request: FastifyRequest): boolean {
  const { 'content-length': length, 'transfer-encoding': encoding } = request.headers;
  return encoding !== undefined || (length !== undefined && length !== '0');
}

/**
 * Errors Fastify's router raises before any hook runs (an over-long path parameter, 414; a URL
 * that does not decode, 400): the one error shape and the transport headers, without the
 * framework's code or the URL in the message.
 */
export function frameworkErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.code(status).headers(TRANSPORT_HEADERS).header('x-request-id', request.id).send(httpErrorBody(status));
}

/**
 * Errors node's HTTP parser raises before Fastify sees a request (headers or URL over the size
 * limit, 431; a malformed request line, 400; a request that took too long, 408), written straight
 * to the socket like Fastify's default handler, in the one error shape.
 */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  if (socket.writable && socket.bytesWritten === 0) {
    const body = JSON.stringify(httpErrorBody(status));
    const headers = {
      ...TRANSPORT_HEADERS,
      'x-request-id': randomUUID(),
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(body)),
      Connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
  }
  socket.destroy(error);
}

/**
 * On every request, before its body is read: the transport headers, and a 415 for a body that is
 * not JSON (a form post must not create a key through a parser nobody asked for).
 */
export function useTransportRules(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(TRANSPORT_HEADERS).header('x-request-id', request.id);
    if (hasBody(request) && !JSON_MEDIA_TYPE.test(request.headers['content-type'] ?? '')) {
      void reply.code(415).send(httpErrorBody(415));
      return;
    }
    done();
  });
}
